SELECT * FROM {{ people }} WHERE age >= 18

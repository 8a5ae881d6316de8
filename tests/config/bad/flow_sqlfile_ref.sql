-- a query in its own file
SELECT *
FROM {{ a }} JOIN {{ nope }} USING (x)

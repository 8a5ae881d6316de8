// tests/interop/js/compare.mjs - compare two JSON-lines renderings of the same
// Parquet data value by value, normalised by the Arrow schema our reader
// reports (see lib.mjs). Exit 0 if equal, 1 with a list of differences.
//
// node compare.mjs --schema S.json [--lossy-decimal] [--skip c1,c2] [--label L] EXPECTED ACTUAL
import fs from 'node:fs'
import { compareRows, parseJson, readJsonl } from './lib.mjs'

const args = process.argv.slice(2)
const opts = {}
let schemaPath, label = ''
const files = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--schema') schemaPath = args[++i]
  else if (args[i] === '--lossy-decimal') opts.lossyDecimal = true
  else if (args[i] === '--skip') opts.skip = args[++i].split(',').filter(Boolean)
  else if (args[i] === '--label') label = args[++i]
  else files.push(args[i])
}
if (!schemaPath || files.length !== 2) {
  console.error('usage: compare.mjs --schema S.json [--lossy-decimal] [--skip c,..] [--label L] EXPECTED ACTUAL')
  process.exit(2)
}
const toPlain = v => {
  if (v && v.obj) return Object.fromEntries(v.obj.map(([k, x]) => [k, toPlain(x)]))
  if (Array.isArray(v)) return v.map(toPlain)
  return v
}
const schema = toPlain(parseJson(fs.readFileSync(schemaPath, 'utf8').trim()))
const expected = readJsonl(files[0])
const actual = readJsonl(files[1])
const errs = compareRows(schema, expected, actual, opts)
if (errs.length) {
  console.error(`MISMATCH ${label}: ${files[0]} vs ${files[1]}`)
  for (const e of errs) console.error('  ' + e)
  process.exit(1)
}
console.log(`ok ${label}: ${expected.length} rows, ${schema.children.length} columns equal`)

// tests/interop/js/lib.mjs - shared helpers of the Parquet interop tests:
// a JSON reader that keeps number tokens exact and object keys in order,
// type-directed normalisation of one peer's rendering of a value (driven by
// the Arrow schema our reader reports), and a value-by-value comparison.
import fs from 'node:fs'

// ---- exact JSON reader -------------------------------------------------
// Numbers become {num: 'raw token'}; objects become {obj: [[key, value], ...]}.
// Accepts the bare NaN / Infinity / -Infinity tokens DuckDB prints.
export function parseJson(text) {
  let i = 0
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++ }
  const val = () => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++; const obj = []; ws()
      if (text[i] === '}') { i++; return { obj } }
      for (;;) {
        ws(); const k = str(); ws()
        if (text[i++] !== ':') throw new Error(`':' expected at ${i}`)
        obj.push([k, val()]); ws()
        if (text[i] === ',') { i++; continue }
        if (text[i++] !== '}') throw new Error(`'}' expected at ${i}`)
        return { obj }
      }
    }
    if (c === '[') {
      i++; const arr = []; ws()
      if (text[i] === ']') { i++; return arr }
      for (;;) {
        arr.push(val()); ws()
        if (text[i] === ',') { i++; continue }
        if (text[i++] !== ']') throw new Error(`']' expected at ${i}`)
        return arr
      }
    }
    if (c === '"') return str()
    for (const [lit, v] of [['true', true], ['false', false], ['null', null],
      ['NaN', { num: 'NaN' }], ['Infinity', { num: 'Infinity' }], ['-Infinity', { num: '-Infinity' }]]) {
      if (text.startsWith(lit, i)) { i += lit.length; return v }
    }
    const m = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400))
    if (!m) throw new Error(`bad JSON at ${i}: ${text.slice(i, i + 20)}`)
    i += m[0].length
    return { num: m[0] }
  }
  const str = () => {
    if (text[i] !== '"') throw new Error(`string expected at ${i}`)
    let j = i + 1
    while (text[j] !== '"') { if (text[j] === '\\') j++; j++ }
    const s = JSON.parse(text.slice(i, j + 1))
    i = j + 1
    return s
  }
  const v = val(); ws()
  if (i !== text.length) throw new Error(`trailing data at ${i}`)
  return v
}

export function readJsonl(path) {
  const lines = fs.readFileSync(path, 'utf8').split('\n').filter(l => l.length)
  return lines.map(parseJson)
}

// ---- serialise peer values (JS side) as exact JSON ------------------------
const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
export function toJsonText(v) {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '"NaN"'
    if (!Number.isFinite(v)) return v > 0 ? '"Infinity"' : '"-Infinity"'
    return Object.is(v, -0) ? '-0' : String(v)
  }
  if (typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v)
  if (v instanceof Date) return JSON.stringify(v.toISOString())
  if (v instanceof Uint8Array) return JSON.stringify(hex(v))
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return '[' + Array.from(v, toJsonText).join(',') + ']'
  if (v instanceof Map) return '[' + Array.from(v, ([k, x]) => `[${toJsonText(k)},${toJsonText(x)}]`).join(',') + ']'
  if (v.__raw !== undefined) return v.__raw
  return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ':' + toJsonText(x)).join(',') + '}'
}

// ---- normalisation -----------------------------------------------------
const UNIT_NS = { s: 1000000000n, m: 1000000n, u: 1000n, n: 1n }

function numText(v) {
  if (v && typeof v === 'object' && 'num' in v) return v.num
  if (typeof v === 'string') return v.trim()
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (typeof v === 'boolean') return v ? '1' : '0'
  throw new Error(`number expected, got ${JSON.stringify(v)}`)
}

function toBigInt(v) {
  const t = numText(v)
  if (/^-?[0-9]+$/.test(t)) return BigInt(t)
  const n = Number(t)
  if (Number.isInteger(n)) return BigInt(n)
  throw new Error(`integer expected, got ${t}`)
}

// "123.45" -> 12345n at scale 2 (exact; also handles exponents).
function decimalScaled(v, scale) {
  const t = numText(v)
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(t)
  if (!m) throw new Error(`decimal expected, got ${t}`)
  let digits = (m[2] || '') + (m[3] || '')
  let exp = (m[4] ? parseInt(m[4], 10) : 0) - (m[3] || '').length + scale
  if (exp >= 0) digits += '0'.repeat(exp)
  else {
    const cut = digits.length + exp
    const dropped = cut > 0 ? digits.slice(cut) : digits
    if (/[1-9]/.test(dropped)) return { inexact: Number(t) }
    digits = cut > 0 ? digits.slice(0, cut) : '0'
  }
  const r = BigInt(digits || '0')
  return m[1] === '-' ? -r : r
}

function civilDays(y, m, d) {
  // days since 1970-01-01, proleptic Gregorian
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}
function dateText(days) {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`
}

function timeNs(s) {
  const m = /^(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?$/.exec(s)
  if (!m) throw new Error(`time expected, got ${s}`)
  const frac = ((m[4] || '') + '000000000').slice(0, 9)
  return ((BigInt(m[1]) * 60n + BigInt(m[2])) * 60n + BigInt(m[3] || 0)) * 1000000000n + BigInt(frac)
}

function timestampNs(s) {
  const m = /^(-?\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d:\d\d(?::\d\d(?:\.\d+)?)?))?\s*(Z|([+-])(\d\d)(?::?(\d\d))?)?$/.exec(s)
  if (!m) throw new Error(`timestamp expected, got ${s}`)
  const days = BigInt(civilDays(parseInt(m[1], 10), parseInt(m[2], 10), parseInt(m[3], 10)))
  let ns = days * 86400000000000n + (m[4] ? timeNs(m[4]) : 0n)
  if (m[6]) {
    const sign = m[6] === '-' ? -1n : 1n
    ns -= sign * (BigInt(m[7]) * 3600n + BigInt(m[8] || 0) * 60n) * 1000000000n
  }
  return ns
}

// Normalise value v (as parsed by parseJson) for Arrow field f
// ({name, format, children}). Returns plain JS values: BigInt, number, string,
// boolean, null, arrays; floats come back as {float: n, f32: bool}.
export function normalise(f, v, opts = {}) {
  if (v === null || v === undefined) return null
  const fmt = f.format
  const kids = f.children || []
  try {
    if ('csilCSIL'.includes(fmt) && fmt.length === 1) return toBigInt(v)
    if (fmt === 'b') {
      if (typeof v === 'boolean') return v
      return toBigInt(v) !== 0n
    }
    if (fmt === 'e' || fmt === 'f' || fmt === 'g') {
      return { float: Number(numText(v)), f32: fmt !== 'g' }
    }
    if (fmt.startsWith('d:')) {
      const scale = parseInt(fmt.split(',')[1], 10)
      const r = decimalScaled(v, scale)
      if (opts.lossyDecimal) return { float: Number(numText(v)), f32: false, decimal: true }
      return r
    }
    if (fmt === 'tdD' || fmt === 'tdm') {
      if (typeof v === 'string') return v.slice(0, 10)
      const n = Number(toBigInt(v))
      return dateText(fmt === 'tdD' ? n : Math.floor(n / 86400000))
    }
    if (fmt.startsWith('tt')) {
      if (typeof v === 'string') return timeNs(v)
      return toBigInt(v) * UNIT_NS[fmt[2]]
    }
    if (fmt.startsWith('ts')) {
      if (typeof v === 'string') return timestampNs(v)
      return toBigInt(v) * UNIT_NS[fmt[2]]
    }
    if (fmt === 'u' || fmt === 'U' || fmt === 'vu') return typeof v === 'string' ? v : JSON.stringify(v)
    if (fmt === 'z' || fmt === 'Z' || fmt === 'vz' || fmt.startsWith('w:')) {
      if (typeof v !== 'string') throw new Error(`binary as string expected, got ${JSON.stringify(v)}`)
      return v.toLowerCase().replace(/-/g, '').replace(/^\\x/, '')
    }
    if (fmt === '+l' || fmt === '+L' || fmt.startsWith('+w:')) {
      if (!Array.isArray(v)) throw new Error('list expected')
      return v.map(x => normalise(kids[0], x, opts))
    }
    if (fmt === '+s') {
      const get = name => {
        if (v.obj) { const e = v.obj.find(([k]) => k === name); return e ? e[1] : null }
        throw new Error('struct expected')
      }
      return kids.map(k => [k.name, normalise(k, get(k.name), opts)])
    }
    if (fmt === '+m') {
      const entries = kids[0].children
      let pairs
      if (v.obj) pairs = v.obj.map(([k, x]) => [k, x])
      else if (Array.isArray(v)) {
        pairs = v.map(e => {
          if (Array.isArray(e)) return e
          if (e && e.obj) {
            const g = n => { const p = e.obj.find(([k]) => k === n); return p ? p[1] : null }
            return [g('key'), g('value')]
          }
          throw new Error('map entry expected')
        })
      } else throw new Error('map expected')
      return pairs.map(([k, x]) => [normalise(entries[0], k, opts), normalise(entries[1], x, opts)])
    }
  } catch (e) {
    throw new Error(`column ${f.name} (${fmt}): ${e.message}`)
  }
  throw new Error(`column ${f.name}: format ${fmt} not handled by the comparison`)
}

function same(a, b) {
  if (a === null || b === null) return a === b
  if (typeof a === 'bigint' || typeof b === 'bigint') return a === b
  if (typeof a !== 'object' || typeof b !== 'object') return a === b
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]))
  }
  if ('float' in a || 'float' in b) {
    if ('inexact' in a || 'inexact' in b) return false
    const x = a.float, y = b.float
    if (Number.isNaN(x) && Number.isNaN(y)) return true
    if (x === y) return true
    // lossy peers (hyparquet) compute decimals in binary floating point
    if (a.decimal && b.decimal) return Math.abs(x - y) <= 1e-12 * Math.max(Math.abs(x), Math.abs(y))
    return (a.f32 || b.f32) && Math.fround(x) === Math.fround(y)
  }
  if ('inexact' in a && 'inexact' in b) return a.inexact === b.inexact
  return false
}

export function show(v) {
  return JSON.stringify(v, (k, x) => typeof x === 'bigint' ? x.toString() + 'n' : x)
}

// Compare rows (arrays of parsed JSON objects) field by field using the Arrow
// schema (top-level struct). Returns a list of mismatch descriptions.
export function compareRows(schema, expected, actual, opts = {}) {
  const errs = []
  if (expected.length !== actual.length) {
    errs.push(`row count: expected ${expected.length}, got ${actual.length}`)
  }
  const fields = schema.children
  const n = Math.min(expected.length, actual.length)
  for (let r = 0; r < n && errs.length < 20; r++) {
    for (const f of fields) {
      if (opts.skip && opts.skip.includes(f.name)) continue
      const pick = row => {
        if (!row || !row.obj) throw new Error(`row ${r} is not an object`)
        const e = row.obj.find(([k]) => k === f.name)
        if (!e) throw new Error(`row ${r}: column ${f.name} missing`)
        return e[1]
      }
      let a, b
      try {
        a = normalise(f, pick(expected[r]), opts)
        b = normalise(f, pick(actual[r]), opts)
      } catch (e) {
        errs.push(`row ${r}: ${e.message}`)
        continue
      }
      if (!same(a, b)) {
        errs.push(`row ${r} column ${f.name} (${f.format}): expected ${show(a)} got ${show(b)}`)
      }
    }
  }
  return errs
}

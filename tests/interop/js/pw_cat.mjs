// tests/interop/js/pw_cat.mjs - parquet-wasm (arrow-rs in WebAssembly) as a
// Parquet *reader*: read FILE, export the table through the Arrow C Data
// Interface into wasm memory, decode those structs here (wasm32 layout) and
// print one JSON object per row (see lib.mjs toJsonText for the forms).
//
// node pw_cat.mjs FILE
import fs from 'node:fs'
import { parquetWasm } from './peers.mjs'
import { toJsonText } from './lib.mjs'

const pw = parquetWasm()
const table = pw.readParquet(new Uint8Array(fs.readFileSync(process.argv[2])))
const ffi = table.intoFFI()
const mem = () => pw.wasmMemory().buffer
const dv = () => new DataView(mem())
const u32 = a => dv().getUint32(a, true)
const i64 = a => dv().getBigInt64(a, true)
const cstr = a => {
  if (!a) return null
  const b = new Uint8Array(mem())
  let e = a
  while (b[e]) e++
  return new TextDecoder().decode(b.subarray(a, e))
}

// ArrowSchema (wasm32): format@0 name@4 metadata@8 flags@16 n_children@24
// children@32 dictionary@36 release@40 private_data@44
function readSchema(a) {
  const n = Number(i64(a + 24))
  const kids = []
  const ch = u32(a + 32)
  for (let i = 0; i < n; i++) kids.push(readSchema(u32(ch + 4 * i)))
  const d = u32(a + 36)
  return { format: cstr(u32(a)), name: cstr(u32(a + 4)), children: kids, dictionary: d ? readSchema(d) : null }
}

// ArrowArray (wasm32): length@0 null_count@8 offset@16 n_buffers@24
// n_children@32 buffers@40 children@44 dictionary@48
function readArray(a, s) {
  const nb = Number(i64(a + 24)), nc = Number(i64(a + 32))
  const bufs = [], kids = []
  for (let i = 0; i < nb; i++) bufs.push(u32(u32(a + 40) + 4 * i))
  for (let i = 0; i < nc; i++) kids.push(readArray(u32(u32(a + 44) + 4 * i), s.children[i]))
  const d = u32(a + 48)
  return {
    length: Number(i64(a)), nullCount: Number(i64(a + 8)), offset: Number(i64(a + 16)),
    bufs, kids, dict: d ? readArray(d, s.dictionary) : null, s,
  }
}

const hexOf = (addr, len) => Array.from(new Uint8Array(mem(), addr, len), x => x.toString(16).padStart(2, '0')).join('')
const bytesOf = (addr, len) => new Uint8Array(mem().slice(addr, addr + len))

function decimalText(v, scale) {
  const neg = v < 0n
  let t = (neg ? -v : v).toString()
  if (scale > 0) {
    t = t.padStart(scale + 1, '0')
    t = t.slice(0, t.length - scale) + '.' + t.slice(t.length - scale)
  }
  return (neg ? '-' : '') + t
}

function isNull(arr, i) {
  const f = arr.s.format
  if (f === 'n') return true
  if (!arr.nullCount || !arr.bufs[0]) return false
  const j = arr.offset + i
  return !((new Uint8Array(mem())[arr.bufs[0] + (j >> 3)] >> (j & 7)) & 1)
}

function intAt(arr, j, f) {
  const d = dv(), b = arr.bufs[1]
  switch (f) {
    case 'c': return d.getInt8(b + j)
    case 'C': return d.getUint8(b + j)
    case 's': return d.getInt16(b + 2 * j, true)
    case 'S': return d.getUint16(b + 2 * j, true)
    case 'i': return d.getInt32(b + 4 * j, true)
    case 'I': return d.getUint32(b + 4 * j, true)
    case 'l': return d.getBigInt64(b + 8 * j, true)
    case 'L': return d.getBigUint64(b + 8 * j, true)
  }
  throw new Error(`int format ${f}`)
}

function value(arr, i) {
  if (isNull(arr, i)) return null
  const s = arr.s, f = s.format, j = arr.offset + i, d = dv(), b = arr.bufs
  if (s.dictionary) return value(arr.dict, Number(intAt(arr, j, f)))
  if (f.length === 1 && 'cCsSiIlL'.includes(f)) return intAt(arr, j, f)
  switch (f) {
    case 'b': return !!((new Uint8Array(mem())[b[1] + (j >> 3)] >> (j & 7)) & 1)
    case 'f': return d.getFloat32(b[1] + 4 * j, true)
    case 'g': return d.getFloat64(b[1] + 8 * j, true)
    case 'tdD': return d.getInt32(b[1] + 4 * j, true)
    case 'tdm': return d.getBigInt64(b[1] + 8 * j, true)
    case 'tts': case 'ttm': return d.getInt32(b[1] + 4 * j, true)
    case 'ttu': case 'ttn': return d.getBigInt64(b[1] + 8 * j, true)
    case 'u': case 'z': case 'U': case 'Z': {
      const large = f === 'U' || f === 'Z'
      const o0 = large ? Number(d.getBigInt64(b[1] + 8 * j, true)) : d.getInt32(b[1] + 4 * j, true)
      const o1 = large ? Number(d.getBigInt64(b[1] + 8 * j + 8, true)) : d.getInt32(b[1] + 4 * j + 4, true)
      if (f === 'u' || f === 'U') return new TextDecoder().decode(bytesOf(b[2] + o0, o1 - o0))
      return hexOf(b[2] + o0, o1 - o0)
    }
    case 'vu': case 'vz': {
      const v = b[1] + 16 * j, len = d.getInt32(v, true)
      let addr = v + 4
      if (len > 12) addr = b[2 + d.getInt32(v + 8, true)] + d.getInt32(v + 12, true)
      return f === 'vu' ? new TextDecoder().decode(bytesOf(addr, len)) : hexOf(addr, len)
    }
  }
  if (f.startsWith('ts')) return d.getBigInt64(b[1] + 8 * j, true)
  if (f.startsWith('w:')) { const n = parseInt(f.slice(2), 10); return hexOf(b[1] + n * j, n) }
  if (f.startsWith('d:')) {
    const [, scale, width] = f.slice(2).split(',').map(Number)
    const w = (width || 128) / 8
    let v = 0n
    for (let k = w - 1; k >= 0; k--) v = (v << 8n) | BigInt(d.getUint8(b[1] + w * j + k))
    if (v >= 1n << BigInt(w * 8 - 1)) v -= 1n << BigInt(w * 8)
    return { __raw: decimalText(v, scale) }
  }
  if (f === '+l' || f === '+L' || f === '+m') {
    const large = f === '+L'
    const o0 = large ? Number(d.getBigInt64(b[1] + 8 * j, true)) : d.getInt32(b[1] + 4 * j, true)
    const o1 = large ? Number(d.getBigInt64(b[1] + 8 * j + 8, true)) : d.getInt32(b[1] + 4 * j + 4, true)
    const out = []
    for (let k = o0; k < o1; k++) {
      if (f === '+m') {
        const e = arr.kids[0]
        out.push([value(e.kids[0], e.offset + k), value(e.kids[1], e.offset + k)])
      } else out.push(value(arr.kids[0], k))
    }
    return out
  }
  if (f.startsWith('+w:')) {
    const n = parseInt(f.slice(3), 10), out = []
    for (let k = j * n; k < (j + 1) * n; k++) out.push(value(arr.kids[0], k))
    return out
  }
  if (f === '+s') {
    const o = {}
    arr.kids.forEach((k, c) => { o[s.children[c].name] = value(k, j) })
    return o
  }
  throw new Error(`pw_cat: unsupported format ${f}`)
}

const schema = readSchema(ffi.schemaAddr())
const out = []
for (let c = 0; c < ffi.numArrays(); c++) {
  const batch = readArray(ffi.arrayAddr(c), schema)
  for (let i = 0; i < batch.length; i++) {
    const row = batch.kids.map((k, n) => JSON.stringify(schema.children[n].name) + ':' + toJsonText(value(k, batch.offset + i)))
    out.push('{' + row.join(',') + '}')
  }
}
ffi.free()
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''))

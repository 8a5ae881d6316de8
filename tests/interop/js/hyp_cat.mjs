// tests/interop/js/hyp_cat.mjs - hyparquet (pure JavaScript) as a Parquet
// reader: print one JSON object per row. Custom parsers keep timestamps and
// dates as raw integers (hyparquet's default Date has only ms precision).
// hyparquet returns DECIMAL as a JS number (inexact beyond 15 digits): the
// comparison for this peer uses --lossy-decimal. It bundles only the snappy
// codec (others need the hyparquet-compressors package, not installed).
//
// node hyp_cat.mjs FILE
import { hyparquet } from './peers.mjs'
import { toJsonText } from './lib.mjs'

const hp = await hyparquet()
const file = await hp.asyncBufferFromFile(process.argv[2])
const dec = new TextDecoder()
const parsers = {
  timestampFromMilliseconds: v => ({ __raw: String(v) }),
  timestampFromMicroseconds: v => ({ __raw: String(v) }),
  timestampFromNanoseconds: v => ({ __raw: String(v) }),
  dateFromDays: v => v,
  stringFromBytes: b => b && dec.decode(b),
  jsonFromBytes: b => b && dec.decode(b),
  uuidFromBytes: b => b && Array.from(b, x => x.toString(16).padStart(2, '0')).join(''),
  geometryFromBytes: b => b,
  geographyFromBytes: b => b,
}
const rows = await hp.parquetReadObjects({ file, parsers, utf8: false })
const out = rows.map(r => toJsonText(r))
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''))

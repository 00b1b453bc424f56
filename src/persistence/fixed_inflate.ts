/**
 * A decoder for the one shape of deflate stream an event body takes: a single
 * final block with the fixed Huffman codes (RFC 1951, 3.2.6), whose
 * back-references may reach into a preset dictionary.
 *
 * Why not zlib alone: `zlib.inflateRawSync` costs the same whatever the size
 * (it builds a stream object and a zlib state each call), several times what
 * parsing a small event's JSON costs, so reading a log would take several
 * times as long as with plain bodies. fflate (a JavaScript inflater) takes a
 * preset dictionary but works through it on every call, which for ours costs
 * more than zlib.
 * Deflate picks the fixed codes for inputs of a few hundred bytes, which is
 * nearly every event; decoding them here is a short loop. Anything else (a
 * dynamic or stored block, a long message, a damaged body) gets `undefined`,
 * and the caller hands it to zlib, which decodes or rejects it.
 */

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/** Huffman codes are sent most significant bit first into a stream read least significant bit first. */
function reversed(code: number, bits: number): number {
  let r = 0;
  for (let i = 0; i < bits; i++) r |= ((code >> i) & 1) << (bits - 1 - i);
  return r;
}

/** The fixed literal/length code, indexed by the next 9 bits of the stream: `symbol << 4 | code length`. */
const LITERAL_LENGTH = new Uint16Array(512);
/** The fixed distance code (5 bits), indexed likewise. */
const DISTANCE = new Uint8Array(32);
{
  const put = (symbol: number, code: number, bits: number) => {
    const r = reversed(code, bits);
    for (let fill = 0; fill < 1 << (9 - bits); fill++) LITERAL_LENGTH[r | (fill << bits)] = (symbol << 4) | bits;
  };
  for (let s = 0; s <= 143; s++) put(s, 0x30 + s, 8);
  for (let s = 144; s <= 255; s++) put(s, 0x190 + s - 144, 9);
  for (let s = 256; s <= 279; s++) put(s, s - 256, 7);
  for (let s = 280; s <= 287; s++) put(s, 0xc0 + s - 280, 8);
  for (let d = 0; d < 32; d++) DISTANCE[reversed(d, 5)] = d;
}

/** Where output is decoded before it becomes a string; reused (decoding is synchronous) and grown when a body needs more. */
let scratch: Uint8Array = new Uint8Array(1 << 14);

/** `scratch` with room for `size` bytes, the first `used` kept. */
function grown(used: number, size: number): Uint8Array {
  const next = new Uint8Array(Math.max(scratch.length * 2, size));
  next.set(scratch.subarray(0, used));
  return next;
}

/**
 * The UTF-8 text of `input[start..]` if it is one final fixed-code block, else
 * `undefined` (see the header). The bit reads are written out in place: this
 * runs once per event read, and a helper per read made it twice as slow.
 */
export function inflateFixedBlock(input: Uint8Array, start: number, dictionary: Uint8Array): string | undefined {
  const end = input.length;
  let out = scratch;
  let pos = start; // next byte to load; bytes past the end load as zeros, and are checked for at the end
  let bits = 0; // loaded bits not yet consumed, least significant first
  let count = 0;
  let n = 0;
  while (count < 3) {
    bits |= (pos < end ? input[pos] : 0) << count;
    pos++;
    count += 8;
  }
  if ((bits & 7) !== 0b011) return undefined; // BFINAL = 1, BTYPE = 01 (fixed codes)
  bits >>>= 3;
  count -= 3;
  for (;;) {
    while (count < 9) {
      bits |= (pos < end ? input[pos] : 0) << count;
      pos++;
      count += 8;
    }
    const entry = LITERAL_LENGTH[bits & 511];
    const symbol = entry >> 4;
    bits >>>= entry & 15;
    count -= entry & 15;
    if (symbol < 256) {
      if (n === out.length) scratch = out = grown(n, n + 1);
      out[n++] = symbol;
      continue;
    }
    if (symbol === 256) break;
    const li = symbol - 257;
    if (li >= LENGTH_BASE.length) return undefined;
    // Up to 5 extra length bits, the 5-bit distance code and up to 13 extra distance bits.
    while (count < 23) {
      bits |= (pos < end ? input[pos] : 0) << count;
      pos++;
      count += 8;
    }
    let length = LENGTH_BASE[li] + (bits & ((1 << LENGTH_EXTRA[li]) - 1));
    bits >>>= LENGTH_EXTRA[li];
    count -= LENGTH_EXTRA[li];
    const di = DISTANCE[bits & 31];
    bits >>>= 5;
    count -= 5;
    if (di >= DISTANCE_BASE.length) return undefined;
    const distance = DISTANCE_BASE[di] + (bits & ((1 << DISTANCE_EXTRA[di]) - 1));
    bits >>>= DISTANCE_EXTRA[di];
    count -= DISTANCE_EXTRA[di];
    let from = n - distance;
    if (-from > dictionary.length) return undefined;
    if (n + length > out.length) scratch = out = grown(n, n + length);
    // A reference may start in the dictionary (the text before this body) and run on into the body.
    for (; from < 0 && length > 0; from++, length--) out[n++] = dictionary[dictionary.length + from];
    for (; length > 0; length--) out[n++] = out[from++];
  }
  // Bytes loaded, less the whole bytes not consumed: past the end means the stream was cut short.
  if (pos - (count >> 3) > end) return undefined;
  return Buffer.from(out.buffer, out.byteOffset, n).toString("utf8");
}

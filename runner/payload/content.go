package payload

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// DefaultSeed is the seed the server uses when a request names none. It is
// fixed so that two runs of the same scenario move identical bytes.
const DefaultSeed uint64 = 0x72656c617962656e // "relayben"

// blockSize is the number of payload bytes produced by one generator step.
const blockSize = 8

// Content is the deterministic payload for one seed: the byte at offset i is a
// pure function of (Seed, i). Block i/8 is a keyed splitmix64 hash of i,
// written little-endian, so any range is generated independently of every
// other range. The zero value is the content for seed 0.
type Content struct {
	// Seed selects the content. Different seeds give unrelated byte streams
	// (not shifted copies of each other, because the seed is hashed into a
	// key before it meets the block index).
	Seed uint64
}

// NewContent returns the content for seed.
func NewContent(seed uint64) Content { return Content{Seed: seed} }

// The splitmix64 constants (Steele, Lea, Flood 2014).
const (
	golden = 0x9e3779b97f4a7c15
	mixA   = 0xbf58476d1ce4e5b9
	mixB   = 0x94d049bb133111eb
)

// mix64 is the splitmix64 finalizer: a bijective 64-bit mixer whose output
// bits each depend on every input bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * mixA
	z = (z ^ (z >> 27)) * mixB
	return z ^ (z >> 31)
}

// key derives the per-seed key. It is recomputed per call rather than stored
// so that the zero Content is valid; it costs a few nanoseconds per buffer.
func (c Content) key() uint64 { return mix64(c.Seed + golden) }

// block returns the 8 bytes, as a little-endian word, of block index j.
func block(key, j uint64) uint64 { return mix64(key ^ (j * golden)) }

// Byte returns the byte at offset off. It is meant for diagnostics and tests;
// use Fill for bulk generation.
func (c Content) Byte(off int64) byte {
	u := uint64(off)
	return byte(block(c.key(), u/blockSize) >> (8 * (u % blockSize)))
}

// Fill writes the content for offsets [off, off+len(p)) into p. off must not
// be negative.
func (c Content) Fill(p []byte, off int64) {
	key := c.key()
	u := uint64(off)
	j := u / blockSize
	// Unaligned head: the tail end of block j.
	if r := u % blockSize; r != 0 {
		w := block(key, j) >> (8 * r)
		for r < blockSize && len(p) > 0 {
			p[0] = byte(w)
			w >>= 8
			p = p[1:]
			r++
		}
		j++
	}
	// Aligned body, four blocks per step so the multiplies of independent
	// blocks overlap in the pipeline.
	for len(p) >= 4*blockSize {
		binary.LittleEndian.PutUint64(p[0:], block(key, j))
		binary.LittleEndian.PutUint64(p[8:], block(key, j+1))
		binary.LittleEndian.PutUint64(p[16:], block(key, j+2))
		binary.LittleEndian.PutUint64(p[24:], block(key, j+3))
		p = p[4*blockSize:]
		j += 4
	}
	for len(p) >= blockSize {
		binary.LittleEndian.PutUint64(p, block(key, j))
		p = p[blockSize:]
		j++
	}
	// Partial tail: the head end of block j.
	if len(p) > 0 {
		w := block(key, j)
		for i := range p {
			p[i] = byte(w)
			w >>= 8
		}
	}
}

// firstMismatch compares p with the content at [off, off+len(p)) and returns
// the index in p of the first differing byte, or -1 when all match. Whole
// blocks are compared as 64-bit words, so there is no per-byte work on the
// common path.
func (c Content) firstMismatch(p []byte, off int64) int {
	key := c.key()
	u := uint64(off)
	j := u / blockSize
	i := 0
	if r := u % blockSize; r != 0 {
		w := block(key, j) >> (8 * r)
		for ; r < blockSize && i < len(p); r, i = r+1, i+1 {
			if p[i] != byte(w) {
				return i
			}
			w >>= 8
		}
		j++
	}
	// Four blocks per step, checked with one branch; the exact position is
	// only searched for once a difference is known to be in the group.
	for ; len(p)-i >= 4*blockSize; i, j = i+4*blockSize, j+4 {
		q := p[i : i+4*blockSize]
		x := binary.LittleEndian.Uint64(q[0:]) ^ block(key, j)
		x |= binary.LittleEndian.Uint64(q[8:]) ^ block(key, j+1)
		x |= binary.LittleEndian.Uint64(q[16:]) ^ block(key, j+2)
		x |= binary.LittleEndian.Uint64(q[24:]) ^ block(key, j+3)
		if x != 0 {
			break
		}
	}
	for ; len(p)-i >= blockSize; i, j = i+blockSize, j+1 {
		if x := binary.LittleEndian.Uint64(p[i:]) ^ block(key, j); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	if i < len(p) {
		w := block(key, j)
		for ; i < len(p); i++ {
			if p[i] != byte(w) {
				return i
			}
			w >>= 8
		}
	}
	return -1
}

// Reader returns an io.Reader over the first size bytes of the content, for
// upload bodies and in-memory tests.
func (c Content) Reader(size int64) *Reader { return &Reader{content: c, size: size} }

// Reader reads a prefix of a Content. It is created by [Content.Reader] and
// holds no buffer of its own.
type Reader struct {
	content Content
	off     int64
	size    int64
}

// Read fills p with the next content bytes and returns io.EOF after size
// bytes.
func (r *Reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rest := r.size - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	r.content.Fill(p, r.off)
	r.off += int64(len(p))
	return len(p), nil
}

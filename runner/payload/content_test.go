package payload

import (
	"bytes"
	"encoding/hex"
	"io"
	"testing"
	"testing/iotest"
)

func fillAt(c Content, off int64, n int) []byte {
	p := make([]byte, n)
	c.Fill(p, off)
	return p
}

// TestContentGolden pins the generator's output. Recorded runs and any other
// implementation of the verifier depend on these exact bytes, so a change
// here is a format change and must be deliberate.
func TestContentGolden(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		want string
	}{
		{DefaultSeed, "e2aba5bcd3912f8d566bbfbebd19ab2fa63599ab3f0cd3a7"},
		{0, "bfd43cff26822148d981067429ab9703ab449ef87c7b73c0"},
	} {
		got := hex.EncodeToString(fillAt(NewContent(tc.seed), 0, 24))
		if got != tc.want {
			t.Errorf("seed %d: first 24 bytes = %s, want %s", tc.seed, got, tc.want)
		}
	}
}

func TestContentDeterministic(t *testing.T) {
	const n = 1 << 16
	a := fillAt(NewContent(42), 0, n)
	b := fillAt(Content{Seed: 42}, 0, n)
	if !bytes.Equal(a, b) {
		t.Fatal("two fills of the same seed differ")
	}
	// Unrelated seeds, and seeds chosen so that an additive seed/index mix
	// would produce a copy shifted by one block, must give unrelated bytes:
	// about 1/256 of positions equal by chance.
	var seed uint64 = 42
	for _, other := range []Content{{Seed: seed + 1}, {Seed: seed + golden}, {Seed: seed - golden}} {
		for _, shift := range []int64{0, 8, -8} {
			off := int64(1024) + shift
			c := fillAt(other, off, n)
			same := 0
			for i := range a {
				if a[i] == c[i] {
					same++
				}
			}
			if same > n/64 {
				t.Errorf("seed %d at offset %d matches seed 42 at 0 in %d of %d bytes; want about %d", other.Seed, off, same, n, n/256)
			}
		}
	}
}

func TestContentLooksRandom(t *testing.T) {
	// A cheap guard against a broken mixer (e.g. a zero key or a shift
	// typo): every byte value appears, none dominates.
	p := fillAt(NewContent(DefaultSeed), 0, 1<<20)
	var hist [256]int
	for _, b := range p {
		hist[b]++
	}
	want := len(p) / 256
	for v, n := range hist {
		if n < want*9/10 || n > want*11/10 {
			t.Errorf("byte 0x%02x occurs %d times in 1 MiB, want %d±10%%", v, n, want)
		}
	}
}

func TestContentRangeIndependence(t *testing.T) {
	c := NewContent(7)
	const total = 4096
	full := fillAt(c, 0, total)
	for off := int64(0); off < 40; off++ {
		for n := 0; n <= 70; n++ {
			if got := fillAt(c, off, n); !bytes.Equal(got, full[off:off+int64(n)]) {
				t.Fatalf("Fill(len %d, off %d) = %x, want %x", n, off, got, full[off:off+int64(n)])
			}
		}
	}
	for _, off := range []int64{1, 3, 8, 1000, 1001, 2047} {
		if got := fillAt(c, off, total-int(off)); !bytes.Equal(got, full[off:]) {
			t.Errorf("Fill(off %d) to the end differs from the same slice of Fill(0)", off)
		}
	}
	for i := range int64(total) {
		if got := c.Byte(i); got != full[i] {
			t.Fatalf("Byte(%d) = 0x%02x, want 0x%02x", i, got, full[i])
		}
	}
	// Far offsets are as cheap as near ones and agree with Byte.
	far := int64(1) << 40
	p := fillAt(c, far+3, 16)
	for i := range p {
		if p[i] != c.Byte(far+3+int64(i)) {
			t.Fatalf("Fill at 2^40+3 byte %d = 0x%02x, Byte says 0x%02x", i, p[i], c.Byte(far+3+int64(i)))
		}
	}
}

func TestContentFirstMismatch(t *testing.T) {
	c := NewContent(9)
	const n = 100
	for off := int64(0); off < 9; off++ {
		good := fillAt(c, off, n)
		if i := c.firstMismatch(good, off); i != -1 {
			t.Fatalf("off %d: correct content reported wrong at %d", off, i)
		}
		for bad := range n {
			p := bytes.Clone(good)
			p[bad] ^= 0x01
			p[n-1] ^= 0x80 // a later error must not hide the first one
			want := bad
			if i := c.firstMismatch(p, off); i != want {
				t.Fatalf("off %d: flipped byte %d, firstMismatch = %d", off, bad, i)
			}
		}
	}
}

func TestContentReader(t *testing.T) {
	c := NewContent(5)
	for _, size := range []int64{0, 1, 9, 100_003} {
		want := fillAt(c, 0, int(size))
		if err := iotest.TestReader(c.Reader(size), want); err != nil {
			t.Errorf("size %d: %v", size, err)
		}
		got, err := io.ReadAll(iotest.OneByteReader(c.Reader(size)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d read byte by byte: %d bytes, err %v; want the %d content bytes", size, len(got), err, size)
		}
	}
}

package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// parseFile reads a whole file the way a ranged reader does: the length
// prefix, then the header streamed into ParseHeader.
func parseFile(data []byte, r func(io.Reader) io.Reader) (Summary, error) {
	var prefix [8]byte
	if copy(prefix[:], data) < 8 {
		return Summary{}, invalidf("short")
	}
	n, err := HeaderLength(prefix, int64(len(data)))
	if err != nil {
		return Summary{}, err
	}
	return ParseHeader(r(bytes.NewReader(data[8:8+n])), n, int64(len(data)))
}

func TestHeaderTooLarge(t *testing.T) {
	var prefix [8]byte
	for _, n := range []uint64{HeaderLimit + 1, 20 << 20, MaxHeaderSize} {
		binary.LittleEndian.PutUint64(prefix[:], n)
		_, err := HeaderLength(prefix, 1<<40)
		var te *HeaderTooLargeError
		if !errors.Is(err, ErrHeaderTooLarge) || !errors.As(err, &te) || te.Size != n || errors.Is(err, ErrInvalid) {
			t.Fatalf("length %d: %v, want ErrHeaderTooLarge and not ErrInvalid", n, err)
		}
		for _, want := range []string{"header of " + itoa(n) + " bytes", "limit of 16777216 bytes (16 MiB", "100000000"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not say %q", err, want)
			}
		}
		// The Scanner says the same, and keeps nothing of the header.
		s := NewScanner(1 << 40)
		s.Write(prefix[:])
		s.Write(bytes.Repeat([]byte(" "), 1<<16))
		s.written = 1 << 40
		if _, err := s.Summary(); !errors.Is(err, ErrHeaderTooLarge) || cap(s.header) != 0 {
			t.Errorf("scanner: %v, buffer %d", err, cap(s.header))
		}
	}
	// Exactly at the limit is read.
	g, err := NewWideGenerator(1, HeaderLimit)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(g)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseFile(data, func(r io.Reader) io.Reader { return r })
	if err != nil || !reflect.DeepEqual(got, g.Summary()) || got.Tensors < 200_000 {
		t.Fatalf("a header of exactly HeaderLimit: %+v, %v; want %+v", got, err, g.Summary())
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestParseHeaderAgreesWithScanner: the streamed parse and the Scanner give
// the same answer on valid and invalid files, read in any chunk size.
func TestParseHeaderAgreesWithScanner(t *testing.T) {
	files := [][]byte{
		file(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, 24),
		file(`{"__metadata__":{"format":"pt"},"x":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}`, 2),
		file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 6),
		file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2),
		file(`{"__metadata__":{},"__metadata__":{}}`, 0),
		file(`{"__metadata__":{"n":1}}`, 0),
		file(`{}  x`, 0),
		file(` {}`, 0),
		file(`{"a":`, 0),
	}
	for i, f := range files {
		want, wantErr := scan(t, int64(len(f)), f, len(f))
		for _, chunk := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, oneByte} {
			got, err := parseFile(f, chunk)
			if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("file %d: parse %+v, %v; scanner %+v, %v", i, got, err, want, wantErr)
			}
		}
	}
}

func oneByte(r io.Reader) io.Reader { return &oneByteReader{r} }

type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// TestParseHeaderShortOrFailingReader: a header the source did not deliver
// whole is a read error, not a verdict on the file.
func TestParseHeaderShortOrFailingReader(t *testing.T) {
	f := file(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, 24)
	n := int64(binary.LittleEndian.Uint64(f))
	boom := errors.New("connection reset")
	for name, r := range map[string]io.Reader{
		"short":   bytes.NewReader(f[8 : 8+n-10]),
		"failing": io.MultiReader(bytes.NewReader(f[8:20]), &errReader{boom}),
	} {
		_, err := ParseHeader(r, n, int64(len(f)))
		if err == nil || errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want a read error that is not ErrInvalid", name, err)
		}
		if name == "failing" && !errors.Is(err, boom) {
			t.Errorf("failing: %v does not wrap the reader's error", err)
		}
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestParseHeaderMemory: summarising the widest header HeaderLimit admits
// keeps a few dozen bytes per tensor, never the header: the live heap,
// measured after a collection when nine tenths of the header have been
// read, stays under three quarters of the header's size (about 44 bytes
// per tensor; holding the header alone would take all of it).
func TestParseHeaderMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a 16 MiB header")
	}
	g, err := NewWideGenerator(1, HeaderLimit)
	if err != nil {
		t.Fatal(err)
	}
	g.Seek(8, io.SeekStart)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	probe := &probeReader{r: io.LimitReader(g, HeaderLimit), at: HeaderLimit * 9 / 10}
	sum, err := ParseHeader(probe, HeaderLimit, g.Size())
	if err != nil {
		t.Fatal(err)
	}
	live := int64(probe.stats.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d tensors: %.1f MiB live at nine tenths of a %d MiB header", sum.Tensors, float64(live)/(1<<20), HeaderLimit>>20)
	if live > HeaderLimit*3/4 {
		t.Errorf("%d bytes live parsing a %d-byte header, want under three quarters of it", live, HeaderLimit)
	}
}

// probeReader collects garbage and reads the heap's statistics once at
// bytes have been read.
type probeReader struct {
	r     io.Reader
	n, at int64
	stats runtime.MemStats
	done  bool
}

func (p *probeReader) Read(b []byte) (int, error) {
	k, err := p.r.Read(b)
	p.n += int64(k)
	if p.n >= p.at && !p.done {
		p.done = true
		runtime.GC()
		runtime.ReadMemStats(&p.stats)
	}
	return k, err
}

package safetensors

import (
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"
)

// FuzzScanner feeds arbitrary bytes to the Scanner in arbitrary chunk sizes.
// The Scanner must not panic, must accept every byte, must give the same
// answer however the bytes are split and whether or not the size is known,
// and any Summary it accepts must be self-consistent.
func FuzzScanner(f *testing.F) {
	f.Add(file(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, 24), uint16(7))
	f.Add(file(`{"__metadata__":{"format":"pt"},"x":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}`, 2), uint16(1))
	f.Add(file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, 3), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		c := int(chunk)%4096 + 1
		whole, wholeErr := scan(t, int64(len(data)), data, len(data)+1)
		split, splitErr := scan(t, int64(len(data)), data, c)
		unsized, unsizedErr := scan(t, -1, data, c)
		if (wholeErr == nil) != (splitErr == nil) || (wholeErr == nil) != (unsizedErr == nil) {
			t.Fatalf("errors depend on chunking: %v / %v / %v", wholeErr, splitErr, unsizedErr)
		}
		if wholeErr != nil {
			if !errors.Is(wholeErr, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", wholeErr)
			}
			return
		}
		if !reflect.DeepEqual(whole, split) || !reflect.DeepEqual(whole, unsized) {
			t.Fatalf("summaries depend on chunking: %+v / %+v / %+v", whole, split, unsized)
		}
		if whole.Params < 0 || whole.Tensors < 0 {
			t.Fatalf("negative counts: %+v", whole)
		}
		if !slices.IsSorted(whole.DTypes) || len(slices.Compact(slices.Clone(whole.DTypes))) != len(whole.DTypes) {
			t.Fatalf("dtypes not sorted and unique: %v", whole.DTypes)
		}
		for _, d := range whole.DTypes {
			if _, ok := DTypeBits(d); !ok {
				t.Fatalf("unknown dtype %q accepted", d)
			}
		}
		if (whole.Tensors == 0) != (len(whole.DTypes) == 0) {
			t.Fatalf("tensors and dtypes disagree: %+v", whole)
		}
	})
}

// FuzzParseHeader reads arbitrary files the way a ranged reader does (the
// length prefix, then the header streamed in pieces of a fuzzed size) and
// checks the answer is the Scanner's: the same Summary, or both refusing
// the file.
func FuzzParseHeader(f *testing.F) {
	f.Add(file(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, 24), uint16(7))
	f.Add(file(`{"__metadata__":{"format":"pt"},"x":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}`, 2), uint16(1))
	f.Add(file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), uint16(2))
	f.Add(file(`{}   `, 0), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		c := int(chunk)%512 + 1
		want, wantErr := scan(t, int64(len(data)), data, len(data)+1)
		got, err := parseFile(data, func(r io.Reader) io.Reader { return &chunkReader{r: r, n: c} })
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("parse %v, scanner %v", err, wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parse %+v, scanner %+v", got, want)
		}
	})
}

// chunkReader reads at most n bytes at a time.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// file builds a safetensors file from a literal header and a data region of
// dataLen zero bytes.
func file(header string, dataLen int) []byte {
	b := make([]byte, 8, 8+len(header)+dataLen)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, dataLen)...)
}

// scan feeds data to a Scanner in chunks of the given size, checking that
// every Write accepts everything.
func scan(t testing.TB, size int64, data []byte, chunk int) (Summary, error) {
	t.Helper()
	s := NewScanner(size)
	for len(data) > 0 {
		k := min(chunk, len(data))
		n, err := s.Write(data[:k])
		if n != k || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v; want %d, nil", k, n, err, k)
		}
		data = data[k:]
	}
	return s.Summary()
}

func TestScannerValid(t *testing.T) {
	tests := []struct {
		name   string
		header string
		data   int
		want   Summary
	}{
		{
			name:   "mixed dtypes",
			header: `{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"c":{"dtype":"U8","shape":[],"data_offsets":[32,33]}}`,
			data:   33,
			want:   Summary{Tensors: 3, DTypes: []string{"BF16", "F32", "U8"}, Params: 6 + 4 + 1},
		},
		{
			name:   "padded header and empty tensor",
			header: `{"e":{"dtype":"F16","shape":[0,5],"data_offsets":[0,0]},"w":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}}     `,
			data:   6,
			want:   Summary{Tensors: 2, DTypes: []string{"F16"}, Params: 3},
		},
		{
			name:   "packed sub-byte dtypes",
			header: `{"q":{"dtype":"F4","shape":[2,5],"data_offsets":[0,5]},"r":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[5,8]}}`,
			data:   8,
			want:   Summary{Tensors: 2, DTypes: []string{"F4", "F6_E2M3"}, Params: 14},
		},
		{
			name:   "no tensors",
			header: `{}`,
			want:   Summary{Tensors: 0, DTypes: []string{}, Params: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := file(tt.header, tt.data)
			for _, chunk := range []int{1, 3, 7, 8, 9, 4096} {
				for _, size := range []int64{int64(len(data)), -1} {
					got, err := scan(t, size, data, chunk)
					if err != nil {
						t.Fatalf("chunk %d size %d: %v", chunk, size, err)
					}
					if !reflect.DeepEqual(got, tt.want) {
						t.Fatalf("chunk %d size %d: got %+v, want %+v", chunk, size, got, tt.want)
					}
				}
			}
		})
	}
}

func TestScannerInvalid(t *testing.T) {
	lenOnly := func(n uint64) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	tests := []struct {
		name string
		data []byte
		size int64 // 0 means len(data)
		want string
	}{
		{"shorter than length prefix", []byte{1, 2, 3}, 0, "shorter than the 8-byte"},
		{"header longer than file", append(lenOnly(1000), `{"a":1}`...), 0, "exceeds the 7 bytes that follow"},
		{"header over the cap", lenOnly(MaxHeaderSize + 1), -1, "exceeds the 100000000-byte limit"},
		{"huge length", lenOnly(1 << 63), -1, "exceeds"},
		{"ends inside header", append(lenOnly(50), `{"a":`...), -1, "ends inside its 50-byte header"},
		{"tiny header", append(lenOnly(1), '{'), 0, "too small"},
		{"not an object", file(`[1,2]`, 0), 0, "does not start with a JSON object"},
		{"invalid json", file(`{"a":{"dtype":"F32",`, 0), 0, "unexpected EOF"},
		{"invalid json key", file(`{"a" 1}`, 0), 0, "colon"},
		{"trailing garbage", file(`{} x`, 0), 0, "trailing data"},
		{"unknown dtype", file(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, 16), 0, `unknown dtype "F128"`},
		{"missing shape", file(`{"a":{"dtype":"U8","data_offsets":[0,0]}}`, 0), 0, "no shape"},
		{"negative dim", file(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, 0), 0, "negative dimension"},
		{"fractional dim", file(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, 1), 0, "tensor \"a\""},
		{"shape overflow", file(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0), 0, "too many elements"},
		{"byte size overflow", file(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, 0), 0, "too large"},
		{"partial byte", file(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2), 0, "whole bytes"},
		{"offsets not a pair", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, 1), 0, "[begin, end]"},
		{"offsets reversed", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}`, 1), 0, "outside"},
		{"offsets past data", file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 2), 0, "outside the 2-byte data region"},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), 0, "needs 8"},
		{"overlap", file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 6), 0, "overlaps"},
		{"hole", file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, 6), 0, "hole at bytes [2, 4)"},
		{"uncovered tail", file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 5), 0, "cover 2 bytes of a 5-byte"},
		{"duplicate name", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), 0, `names "a" twice`},
		{"bad metadata", file(`{"__metadata__":{"n":1}}`, 0), 0, "__metadata__"},
		{"param overflow", file(`{"a":{"dtype":"BOOL","shape":[0,4611686018427387904],"data_offsets":[0,0]},"b":{"dtype":"F4","shape":[4611686018427387904,2],"data_offsets":[0,0]}}`, 0), 0, "tensor \"b\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if size == 0 {
				size = int64(len(tt.data))
			}
			for _, chunk := range []int{1, 5, 1 << 20} {
				_, err := scan(t, size, tt.data, chunk)
				if err == nil {
					t.Fatalf("chunk %d: no error, want one containing %q", chunk, tt.want)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("chunk %d: error %v does not wrap ErrInvalid", chunk, err)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("chunk %d: error %q does not contain %q", chunk, err, tt.want)
				}
			}
		})
	}
}

func TestScannerStreamLengthMismatch(t *testing.T) {
	data := file(`{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}`, 3)
	for _, size := range []int64{int64(len(data)) + 1, int64(len(data)) - 1} {
		_, err := scan(t, size, data, 4)
		if err == nil || errors.Is(err, ErrInvalid) {
			t.Errorf("size %d for %d bytes: got %v, want a truncation error that is not ErrInvalid", size, len(data), err)
		}
	}
}

// TestScannerDoesNotTrustLength checks that a length prefix claiming a huge
// header costs memory only for the bytes that actually arrive.
func TestScannerDoesNotTrustLength(t *testing.T) {
	prefix := make([]byte, 8)
	binary.LittleEndian.PutUint64(prefix, HeaderLimit)
	s := NewScanner(1 << 40)
	s.Write(prefix)
	s.Write([]byte(`{"a":`))
	if c := cap(s.header); c > 64<<10 {
		t.Fatalf("scanner allocated %d bytes for a 5-byte header prefix", c)
	}
	allocs := testing.AllocsPerRun(10, func() {
		s := NewScanner(-1)
		s.Write(prefix)
		s.Write([]byte("{"))
	})
	if allocs > 3 {
		t.Fatalf("%v allocations for a header prefix, want at most 3", allocs)
	}
}

// TestScannerIgnoresDataRegion checks that bytes after the header are only
// counted: a large data region goes through without growing the scanner.
func TestScannerIgnoresDataRegion(t *testing.T) {
	g, err := NewSizedGenerator(7, 8<<20, "F32")
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner(g.Size())
	if _, err := io.CopyBuffer(s, g, make([]byte, 1<<16)); err != nil {
		t.Fatal(err)
	}
	if s.header != nil && int64(cap(s.header)) > int64(len(g.header)) {
		t.Errorf("header buffer grew to %d bytes for a %d-byte header", cap(s.header), len(g.header))
	}
	got, err := s.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if got.Params != (8<<20-int64(len(g.header)))/4 {
		t.Errorf("Params = %d, want %d", got.Params, (8<<20-int64(len(g.header)))/4)
	}
}

func TestScannerMatchesBytesAsWritten(t *testing.T) {
	// Writes after the header ends and Write's contract on errors: a file
	// whose header is bad still accepts every byte.
	data := append(file(`nope`, 0), bytes.Repeat([]byte{0xff}, 1000)...)
	if _, err := scan(t, int64(len(data)), data, 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}

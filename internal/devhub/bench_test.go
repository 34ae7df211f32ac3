package devhub

import (
	"io"
	"net/http"
	"testing"
)

// patternReader yields n bytes of a cheap pattern without holding them.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	for i := range b {
		b[i] = byte((p.off + int64(i)) * 2654435761 >> 13)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// BenchmarkStreamedObject seeds a 256 MiB LFS file through the Go API and
// downloads it over HTTP: both directions stream through the disk store.
func BenchmarkStreamedObject(b *testing.B) {
	const size = 256 << 20
	e := setup(b)
	if err := e.hub.CreateRepo("alice/big", RepoOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(2 * size)
	for i := 0; i < b.N; i++ {
		if _, err := e.hub.CommitFiles("alice/big", "main", "big", []SeedFile{{Path: "w.safetensors", Content: &patternReader{n: size}}}, nil); err != nil {
			b.Fatal(err)
		}
		res, err := http.Get(e.srv.URL + "/alice/big/resolve/main/w.safetensors")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || n != size {
			b.Fatalf("downloaded %d bytes: %v", n, err)
		}
	}
}

package extract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/Foxlight-Foundation/skulk-weights/internal/bf16"
)

// copyBuf is the buffer size of copies from a source range to the output.
const copyBuf = 1 << 20

// writeFile writes f's bytes to w: the header, then each run of tensors
// that lie back to back in one source shard through one ranged GET. When
// sums is non-nil, the sha256 of every source tensor's bytes (scales
// included) is put in it by name. Memory is one copy buffer plus, for a
// scaled conversion, its scale (at most bf16.MaxScaleBytes).
func writeFile(ctx context.Context, rd *reader, f *OutFile, w io.Writer, sums map[string]string) error {
	if _, err := w.Write(f.Header); err != nil {
		return err
	}
	buf := make([]byte, copyBuf)
	ts := f.Tensors
	for i := 0; i < len(ts); {
		j := i + 1
		for j < len(ts) && ts[j].Src.Shard == ts[i].Src.Shard && ts[j].Src.Begin == ts[j-1].Src.End {
			j++
		}
		if err := writeRun(ctx, rd, ts[i:j], w, sums, buf); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func writeRun(ctx context.Context, rd *reader, run []*OutTensor, w io.Writer, sums map[string]string, buf []byte) error {
	first, last := run[0].Src, run[len(run)-1].Src
	body, err := rd.open(ctx, first.Shard, first.Begin, last.End-first.Begin)
	if err != nil {
		return err
	}
	defer body.Close()
	for _, o := range run {
		lim := &io.LimitedReader{R: body, N: o.Src.Size()}
		var src io.Reader = lim
		h := sha256.New()
		if sums != nil {
			src = io.TeeReader(src, h)
		}
		if o.Job == nil {
			n, err := io.CopyBuffer(w, onlyReader{src}, buf)
			if err != nil {
				return fmt.Errorf("copying %s from %s: %w", o.Name, o.Src.Shard, err)
			}
			if n != o.Src.Size() {
				return fmt.Errorf("copying %s from %s: %w after %d of %d bytes", o.Name, o.Src.Shard, io.ErrUnexpectedEOF, n, o.Src.Size())
			}
		} else {
			var scale []byte
			if o.Scale != nil {
				if o.Scale.Size() > bf16.MaxScaleBytes {
					return fmt.Errorf("%s: scale %s is %d bytes, over %d", o.Name, o.Scale.Name, o.Scale.Size(), bf16.MaxScaleBytes)
				}
				scale, err = rd.readAll(ctx, o.Scale.Shard, o.Scale.Begin, o.Scale.Size())
				if err != nil {
					return err
				}
				if sums != nil {
					s := sha256.Sum256(scale)
					sums[o.Scale.Name] = hex.EncodeToString(s[:])
				}
			}
			c, err := bf16.NewConverter(*o.Job, src, scale)
			if err != nil {
				return fmt.Errorf("converting %s: %w", o.Name, err)
			}
			n, err := c.WriteTo(w)
			if err != nil {
				return fmt.Errorf("converting %s from %s: %w", o.Name, o.Src.Shard, err)
			}
			if n != o.Size || lim.N != 0 {
				return fmt.Errorf("converting %s: wrote %d of %d bytes, %d source bytes unread", o.Name, n, o.Size, lim.N)
			}
		}
		if sums != nil {
			sums[o.Src.Name] = hex.EncodeToString(h.Sum(nil))
		}
	}
	return nil
}

// onlyReader hides a reader's WriterTo so CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }

package extract

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/Foxlight-Foundation/skulk-weights/internal/bf16"
)

// DefaultMaxShardSize is where the output is split into shards, as
// transformers' save_pretrained splits with its default max_shard_size
// "5GB" (decimal, as transformers parses it).
const DefaultMaxShardSize = 5_000_000_000

// MTPFile is the MTP sidecar's one weight file.
const MTPFile = "mtp.safetensors"

// VisionFile is the vision sidecar's weight file when it is not sharded.
const VisionFile = "model.safetensors"

// OutTensor is one tensor of an output file.
type OutTensor struct {
	Name  string
	DType string
	Shape []int64
	// Src is the source tensor; Scale its scale companion (MTP), or nil.
	Src   Tensor
	Scale *Tensor
	// Job is the BF16 conversion, nil when the bytes are copied.
	Job *bf16.Job
	// Offset is the tensor's place in the output's data region; Size its
	// byte length there.
	Offset, Size int64
}

// OutFile is one output safetensors file.
type OutFile struct {
	Path string
	// Header is the whole header: the 8-byte length, the JSON and the
	// space padding that makes the data region start 8-byte aligned.
	Header  []byte
	Tensors []*OutTensor
	// Size is the file's byte size; SHA256 its hash and Sample its first
	// bytes (preupload's sample) once known.
	Size   int64
	SHA256 string
	Sample []byte
}

// Layout is the output of an extraction: its weight files and, when there
// is more than one, their index.
type Layout struct {
	Files []*OutFile
	// Index is model.safetensors.index.json, nil for one file.
	Index []byte
	// Companions are the source scales consumed by conversions.
	Companions []Tensor
	// Params is the number of elements written.
	Params int64
}

// plan lays out the output of sel over the selected source tensors. The
// data region keeps the source's order (shard by shard, in file order), so
// one pass of ranged reads fills a file front to back; the header lists
// tensors by name (JSON object keys sorted), so the same selected bytes
// always give the same file.
func plan(s *Source, sel Selection, meta map[string]string, maxShard int64) (*Layout, error) {
	var outs []*OutTensor
	l := &Layout{}
	switch sel.Kind {
	case KindVision:
		for _, t := range s.Selected {
			outs = append(outs, &OutTensor{Name: t.Name, DType: t.DType, Shape: t.Shape, Src: t, Size: t.Size()})
		}
	case KindMTP:
		specs := make([]bf16.Spec, len(s.Selected))
		byName := make(map[string]Tensor, len(s.Selected))
		for i, t := range s.Selected {
			specs[i] = bf16.Spec{Name: t.Name, DType: t.DType, Shape: t.Shape}
			byName[t.Name] = t
		}
		p := bf16.Pair(specs)
		if len(p.Errors) > 0 {
			msgs := ""
			for i, e := range p.Errors {
				if i == 3 {
					msgs += fmt.Sprintf("; and %d more", len(p.Errors)-3)
					break
				}
				if i > 0 {
					msgs += "; "
				}
				msgs += e.Error()
			}
			return nil, fmt.Errorf("%w: cannot convert the MTP head of %s@%s to BF16: %s", p.Errors[0], s.Repo, short(s.SHA), msgs)
		}
		for _, c := range p.Companions {
			l.Companions = append(l.Companions, byName[c])
		}
		for i := range p.Jobs {
			j := p.Jobs[i]
			o := &OutTensor{Name: j.Tensor.Name, DType: bf16.DTypeBF16, Shape: j.OutShape, Src: byName[j.Tensor.Name], Job: &j, Size: j.OutSize}
			if j.Scale != nil {
				sc := byName[j.Scale.Name]
				o.Scale = &sc
			}
			outs = append(outs, o)
		}
		sort.SliceStable(outs, func(a, b int) bool {
			x, y := outs[a].Src, outs[b].Src
			if x.Shard != y.Shard {
				return x.Shard < y.Shard
			}
			return x.Begin < y.Begin
		})
	default:
		return nil, fmt.Errorf("unknown selection kind %q", sel.Kind)
	}
	for _, o := range outs {
		n := int64(1)
		for _, d := range o.Shape {
			n *= d
		}
		l.Params += n
	}
	// Split like save_pretrained: a new shard when the next tensor would
	// take the current one past maxShard (a tensor larger than that gets a
	// shard of its own). The MTP sidecar is one file, as Skulk loads it.
	var groups [][]*OutTensor
	var cur []*OutTensor
	var curSize int64
	for _, o := range outs {
		if sel.Kind == KindVision && maxShard > 0 && len(cur) > 0 && curSize+o.Size > maxShard {
			groups = append(groups, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, o)
		curSize += o.Size
	}
	groups = append(groups, cur)
	weightMap := map[string]string{}
	var total int64
	for i, g := range groups {
		name := VisionFile
		switch {
		case sel.Kind == KindMTP:
			name = MTPFile
		case len(groups) > 1:
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(groups))
		}
		f, err := newOutFile(name, g, meta)
		if err != nil {
			return nil, err
		}
		for _, o := range g {
			weightMap[o.Name] = name
			total += o.Size
		}
		l.Files = append(l.Files, f)
	}
	if len(groups) > 1 {
		idx := map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}
		b, err := json.MarshalIndent(idx, "", "  ")
		if err != nil {
			return nil, err
		}
		l.Index = append(b, '\n')
	}
	return l, nil
}

// newOutFile lays out one file: offsets in the given order, header keys
// sorted, "__metadata__" first, padded with spaces to 8 bytes.
func newOutFile(path string, ts []*OutTensor, meta map[string]string) (*OutFile, error) {
	var off int64
	for _, o := range ts {
		o.Offset = off
		off += o.Size
	}
	sorted := append([]*OutTensor(nil), ts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	b.WriteString("{")
	mb, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	b.WriteString(`"__metadata__":`)
	b.Write(mb)
	for _, o := range sorted {
		nb, _ := json.Marshal(o.Name)
		shape := o.Shape
		if shape == nil {
			shape = []int64{}
		}
		sb, _ := json.Marshal(shape)
		fmt.Fprintf(&b, `,%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, nb, o.DType, sb, o.Offset, o.Offset+o.Size)
	}
	b.WriteString("}")
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	h := make([]byte, 8, 8+b.Len())
	binary.LittleEndian.PutUint64(h, uint64(b.Len()))
	h = append(h, b.Bytes()...)
	return &OutFile{Path: path, Header: h, Tensors: ts, Size: int64(len(h)) + off}, nil
}

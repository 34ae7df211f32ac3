package bf16

import (
	"sort"
	"strings"
)

// Pairing sorts a checkpoint's tensors for a BF16 conversion: what to
// convert, what only serves as a scale, and what cannot be converted.
type Pairing struct {
	// Jobs are the tensors to write, each with its scale companion if it
	// has one, in the order the tensors were given.
	Jobs []Job
	// Companions are the names of the scale tensors the jobs consume; they
	// are not written.
	Companions []string
	// Errors are the tensors that cannot be converted, each an *Error
	// naming its tensor, in the order the tensors were given.
	Errors []error
}

// Pair pairs weights with their scale companions and plans every
// conversion. A tensor "<t>_scale_inv" is the companion of "<t>", and
// "<p>.scale" of "<p>.weight", as DeepSeek-V3's fp8_cast_bf16.py and
// DeepSeek-V4's convert.py name them. It is an error for a companion to have
// no weight, for a weight to have both, for a name to appear twice, for any
// Plan to fail, and for an 8-bit tensor (F8_E4M3, F8_E5M2, F8_E8M0, I8) to
// have no companion: those are quantized values whose scale, if it is stored
// under another name, would be silently dropped.
func Pair(tensors []Spec) Pairing {
	var out Pairing
	// errs collects each error with the position of its tensor, so Errors
	// come out in input order whichever pass found them.
	type posErr struct {
		at  int
		err error
	}
	var errs []posErr
	fail := func(at int, err error) { errs = append(errs, posErr{at, err}) }
	index := make(map[string]int, len(tensors))
	for i, t := range tensors {
		if _, dup := index[t.Name]; dup {
			fail(i, newError(t.Name, ErrInvalid, "tensor %s is named twice", t.Name))
			continue
		}
		index[t.Name] = i
	}
	// owner[i] is the index of the weight tensors[i] scales, notScale, or
	// orphan for a scale whose weight is missing; scales[j] lists the
	// companions of tensors[j].
	const notScale, orphan = -1, -2
	owner := make([]int, len(tensors))
	scales := make(map[int][]int)
	for i, t := range tensors {
		owner[i] = notScale
		if index[t.Name] != i {
			continue
		}
		w, ok := ownerName(t.Name)
		if !ok {
			continue
		}
		j, found := index[w]
		if !found {
			owner[i] = orphan
			fail(i, newError(t.Name, ErrInvalid, "scale %s has no weight %s to scale", t.Name, w))
			continue
		}
		owner[i] = j
		scales[j] = append(scales[j], i)
	}
	for i, t := range tensors {
		if index[t.Name] != i {
			continue
		}
		switch j := owner[i]; {
		case j == orphan:
			continue
		case j >= 0 && owner[j] != notScale:
			fail(i, newError(t.Name, ErrInvalid, "scale %s scales %s, itself a scale", t.Name, tensors[j].Name))
			continue
		case j >= 0:
			out.Companions = append(out.Companions, t.Name)
			continue
		}
		var scale *Spec
		switch ss := scales[i]; len(ss) {
		case 0:
			if dtypeBytes[t.DType] == 1 {
				fail(i, newError(t.Name, ErrUnknownLayout, "tensor %s is %s without a scale companion (looked for %s%s and, for a .weight, <prefix>%s); its scale layout is unknown", t.Name, t.DType, t.Name, SuffixScaleInv, SuffixScale))
				continue
			}
		case 1:
			scale = &tensors[ss[0]]
		default:
			fail(i, newError(t.Name, ErrInvalid, "tensor %s has two scale companions, %s and %s", t.Name, tensors[ss[0]].Name, tensors[ss[1]].Name))
			continue
		}
		job, err := Plan(t, scale)
		if err != nil {
			fail(i, err)
			continue
		}
		out.Jobs = append(out.Jobs, job)
	}
	sort.SliceStable(errs, func(a, b int) bool { return errs[a].at < errs[b].at })
	for _, e := range errs {
		out.Errors = append(out.Errors, e.err)
	}
	return out
}

// ownerName returns the name of the tensor a scale companion called name
// would scale, and whether name is a companion's name at all.
func ownerName(name string) (string, bool) {
	if w, ok := strings.CutSuffix(name, SuffixScaleInv); ok && w != "" {
		return w, true
	}
	if p, ok := strings.CutSuffix(name, SuffixScale); ok && p != "" {
		return p + ".weight", true
	}
	return "", false
}

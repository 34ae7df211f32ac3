package hub

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Token is a Hub token and where it was found. Source names a variable or
// a file, never the value, so it may be shown.
type Token struct {
	Value  string
	Source string // "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" or the token file's path; "" without a token
}

// maxTokenFile bounds what is read of a token file: a token is under a
// hundred bytes, so anything near this is not one.
const maxTokenFile = 64 << 10

// TokenFromEnv finds the token as huggingface_hub's get_token does
// (utils/_auth.py, constants.py): HF_TOKEN, else the legacy
// HUGGING_FACE_HUB_TOKEN, else the file at HF_TOKEN_PATH, else
// $HF_HOME/token, where HF_HOME defaults to $XDG_CACHE_HOME/huggingface and
// then ~/.cache/huggingface. Values are cleaned the same way: line breaks
// removed, surrounding white space trimmed, and an empty result means no
// token. A missing file means no token; a file that cannot be read is an
// error.
func TokenFromEnv(getenv func(string) string) (Token, error) {
	name := "HF_TOKEN"
	v := getenv(name)
	if v == "" {
		name = "HUGGING_FACE_HUB_TOKEN"
		v = getenv(name)
	}
	if t := cleanToken(v); t != "" {
		return Token{Value: t, Source: name}, nil
	}
	path := TokenPath(getenv)
	if path == "" {
		return Token{}, nil
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Token{}, nil
	case err != nil:
		return Token{}, fmt.Errorf("reading the token file: %w", err)
	case !fi.Mode().IsRegular():
		return Token{}, fmt.Errorf("reading the token file: %s is not a regular file", path)
	case fi.Size() > maxTokenFile:
		return Token{}, fmt.Errorf("reading the token file: %s is %d bytes, too large to hold a token", path, fi.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return Token{}, fmt.Errorf("reading the token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile))
	if err != nil {
		return Token{}, fmt.Errorf("reading the token file %s: %w", path, err)
	}
	if t := cleanToken(string(b)); t != "" {
		return Token{Value: t, Source: path}, nil
	}
	return Token{}, nil
}

// TokenPath is the token file the official clients read: HF_TOKEN_PATH,
// else $HF_HOME/token, with ~ and $VARIABLES expanded as Python's
// expanduser and expandvars do. It is "" when no home directory is known.
func TokenPath(getenv func(string) string) string {
	if p := getenv("HF_TOKEN_PATH"); p != "" {
		return expandPath(p, getenv)
	}
	home := getenv("HF_HOME")
	if home == "" {
		cache := getenv("XDG_CACHE_HOME")
		if cache == "" {
			if getenv("HOME") == "" {
				return ""
			}
			cache = filepath.Join("~", ".cache")
		}
		home = filepath.Join(cache, "huggingface")
	}
	return filepath.Join(expandPath(home, getenv), "token")
}

// expandPath expands a leading ~ to HOME and $NAME or ${NAME} to its value;
// unset variables are left as written, as Python's expandvars does.
func expandPath(p string, getenv func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h := getenv("HOME"); h != "" {
			p = h + p[1:]
		}
	}
	return os.Expand(p, func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return "${" + name + "}"
	})
}

func cleanToken(s string) string {
	s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	return strings.TrimSpace(s)
}

//go:build !linux

package main

import (
	"context"
	"errors"
	"io"

	"github.com/Foxlight-Foundation/skulk-weights/internal/actionimage"
)

func runInEmptyRoot(context.Context, string, actionimage.Meta, io.Writer) error {
	return errors.New("running the binary in an empty root needs Linux (chroot); use --run=false")
}

# syntax=docker/dockerfile:1
# The GitHub Action's image: a static skulk-weights binary and nothing else.
# The binary carries its own CA roots, so the runtime image needs no files.

FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Empty VERSION: the binary reports internal/cli/VERSION, the version of
# the checked-out source (the runner builds this image from the action's tag).
ARG VERSION=
# Keep these flags in step with .ci/static-binary.sh, which proves the result
# runs in an empty root directory.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X github.com/Foxlight-Foundation/skulk-weights/internal/cli.version=${VERSION}" \
      -o /skulk-weights .

FROM scratch
COPY --from=build /skulk-weights /skulk-weights
# No USER: the runner mounts its workspace and file-command files owned by
# root and the action must be able to write them. No WORKDIR either: the
# runner mounts the workspace over it and sets the working directory itself.
ENTRYPOINT ["/skulk-weights", "action"]

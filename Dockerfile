# syntax=docker/dockerfile:1
# The GitHub Action's image: a static skulk-weights binary and nothing else.
# The binary carries its own CA roots, so the runtime image needs no files.

FROM golang:1.26.8 AS build
WORKDIR /src
# No separate `go mod download`: it would fetch every module go.mod names,
# the release tooling's included (57.6 MiB against 3.2 MiB, scripts/sizes.sh),
# while go build fetches only what the binary needs. The runner builds this
# image afresh in every job, so a cached download layer would not help it.
COPY . .
# Empty VERSION, COMMIT and DATE: the binary reports internal/buildinfo/VERSION,
# the version of the checked-out source (the runner builds this image from
# the action's ref), and "unknown" for the others.
ARG VERSION=
ARG COMMIT=
ARG DATE=
# The release's go build line (internal/buildinfo.GoBuildFlags, also used by
# scripts/image and .goreleaser.yaml); TestReleaseBuildFlagsAgree fails when
# they drift, and .ci/static-binary.sh proves the result runs in an empty root.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo.version=${VERSION} -X github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo.commit=${COMMIT} -X github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo.date=${DATE}" \
      -o /skulk-weights .

FROM scratch
COPY --from=build /skulk-weights /skulk-weights
# No USER: the runner mounts its workspace and file-command files owned by
# root and the action must be able to write them. No WORKDIR either: the
# runner mounts the workspace over it and sets the working directory itself.
ENTRYPOINT ["/skulk-weights", "action"]

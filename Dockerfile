# mailferry as a container image: a static binary (no C library, so no
# dynamic loader) on distroless's static base, which holds CA certificates,
# time zone data and a non-root user, and nothing else: no shell, so the
# *-password-command options, which run sh -c, do not work in it; give
# secrets as files (a Kubernetes Secret mounted as a volume).
#
#   docker build -t mailferry .
#   docker run --rm mailferry --version
#
# See docs/kubernetes.md and deploy/kubernetes/.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/mailferry ./cmd/mailferry

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mailferry /usr/local/bin/mailferry
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/mailferry"]
CMD ["--help"]

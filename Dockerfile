# tickerd's container image: a static binary on distroless, as non-root.
#
#   docker build -t tickerd --build-arg VERSION=$(git describe --tags --always) \
#       --build-arg REVISION=$(git rev-parse HEAD) .
#
# One image serves every role: tickerd (all-in-one), tickerd -feed nats
# (a replica) and tickerd publish; see deploy/ and the README.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG REVISION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.linkVersion=${VERSION} -X main.linkRevision=${REVISION}" \
        -o /out/tickerd ./cmd/tickerd

# static: no libc, no shell, no package manager; nonroot: uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="tickerd" \
      org.opencontainers.image.description="Live stock prices over Server-Sent Events" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/tickerd /tickerd
USER 65532:65532
ENV TICKERD_ADDR=:8080 \
    TICKERD_LOG_FORMAT=json
EXPOSE 8080
# No curl in the image: tickerd asks itself, on TICKERD_ADDR.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/tickerd", "healthcheck"]
ENTRYPOINT ["/tickerd"]

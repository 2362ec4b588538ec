# syntax=docker/dockerfile:1
#
# Container image of iam-credentials-exporter.
#
#   docker build -t iam-credentials-exporter \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse --short=12 HEAD)" .
#   docker run --rm -p 9824:9824 -e AWS_PROFILE -v "$HOME/.aws:/home/nonroot/.aws:ro" iam-credentials-exporter
#
# The default command reads IAM data from AWS with the standard credential
# chain. Pass --credential-report.file=PATH to read a saved report instead.
#
# Probes: GET /-/healthy (200 while the process runs) and GET /-/ready (503
# until the first successful refresh, then 200) on port 9824. The distroless
# runtime image has no shell and no curl, so a HEALTHCHECK instruction cannot
# run; use these paths from the orchestrator (see deploy/kubernetes).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src

# Dependencies first: build them against placeholder sources so that this
# layer stays cached until Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# The revision for aws_iam_exporter_build_info; .git is not in the build
# context, so build.rs takes it from this variable.
ARG REVISION=unknown
COPY src ./src
# COPY keeps the sources' modification times, which can be older than the
# placeholder build: touch them so that cargo rebuilds the crate.
RUN touch src/main.rs src/lib.rs \
    && IAM_EXPORTER_REVISION="${REVISION}" cargo build --release --locked \
    && cp target/release/iam-credentials-exporter /usr/local/bin/iam-credentials-exporter

FROM gcr.io/distroless/cc-debian12:nonroot

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED
LABEL org.opencontainers.image.title="iam-credentials-exporter" \
      org.opencontainers.image.description="Prometheus exporter for AWS IAM credential hygiene: access key age and last use, MFA and password state" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=builder /usr/local/bin/iam-credentials-exporter /usr/local/bin/iam-credentials-exporter

# 65532 is the nonroot user of the distroless image; numeric so that
# Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 9824
ENTRYPOINT ["/usr/local/bin/iam-credentials-exporter"]

# earshot image: build stage compiles the binary and fetches the inference runtimes from PyPI; the
# runtime stage holds only the binary, the CPU libraries and the checksummed sentiment weights, so a pod
# downloads nothing when it starts.
#   docker build -t earshot:latest .
#   docker run -p 50051:50051 earshot:latest serve --listen 0.0.0.0:50051

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-pip pkg-config nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Runtimes first: they change far less often than the code, so this layer stays cached.
COPY scripts/runtime.sh scripts/runtime.sh
RUN scripts/runtime.sh
COPY . .
# The dashboard is bundled from its npm lockfile and embedded in the binary (services/web).
RUN (cd models/weights && sha256sum --quiet -c SHA256SUMS) \
 && services/web/build.sh \
 && cargo build --release --locked -p earshot-cli \
 && mkdir -p /out/bin /out/lib \
 && cp target/release/earshot target/release/earshot-engine /out/bin/ \
 && cp -a .earshot/libtorch/lib/. /out/lib/ \
 && cp .earshot/onnxruntime/libonnxruntime.so /out/lib/

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin earshot
# `earshot` execs `earshot-engine` (next to it) for serve, classify and eval (docs/adr/0007).
COPY --from=build /out/bin/ /opt/earshot/bin/
COPY --from=build /out/lib/ /opt/earshot/lib/
COPY models/weights/ /opt/earshot/models/weights/
ENV LD_LIBRARY_PATH=/opt/earshot/lib \
    ORT_DYLIB_PATH=/opt/earshot/lib/libonnxruntime.so \
    EARSHOT_MODEL_DIR=/opt/earshot/models/weights \
    EARSHOT_DATA_DIR=/data \
    EARSHOT_LISTEN=0.0.0.0:50051 \
    EARSHOT_LOG_FORMAT=json
USER 10001:10001
EXPOSE 50051 8080 9090
VOLUME ["/data"]
ENTRYPOINT ["/opt/earshot/bin/earshot"]
CMD ["serve"]

# Gatehouse in a small image: built with the Rust toolchain, run as a non-root
# user on Debian slim. Data (SQLite database, keys) lives in /var/lib/gatehouse.
#   docker build -t gatehouse .
#   docker run -p 8080:8080 -v gatehouse:/var/lib/gatehouse \
#       -e GATEHOUSE_ISSUER=http://localhost:8080 gatehouse
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gatehouse \
    && strip target/release/gatehouse

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/gatehouse --create-home gatehouse
COPY --from=build /src/target/release/gatehouse /usr/local/bin/gatehouse
USER 10001
WORKDIR /var/lib/gatehouse
ENV GATEHOUSE_LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME ["/var/lib/gatehouse"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["gatehouse"]
CMD ["serve"]

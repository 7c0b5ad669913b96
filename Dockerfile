# wardd container image. The build stage installs packages with the same
# script as `make` (tools/deps.sh), so the tested path and the image path
# are one. Runtime: a non-root user, the database on a volume, a health
# check on /healthz.
FROM debian:12-slim AS build
WORKDIR /src
COPY tools/deps.sh tools/deps.sh
RUN tools/deps.sh build
COPY . .
RUN make clean && make all

FROM debian:12-slim
COPY tools/deps.sh /tmp/deps.sh
RUN /tmp/deps.sh runtime && rm -rf /var/lib/apt/lists/* /tmp/deps.sh \
 && useradd --system --home-dir /var/lib/wardd --create-home --shell /usr/sbin/nologin wardd
COPY --from=build /src/build/wardd /usr/local/bin/wardd
COPY --from=build /src/web /usr/share/wardd/web
COPY --from=build /src/schema/rules /usr/share/wardd/rules
USER wardd
WORKDIR /var/lib/wardd
VOLUME ["/var/lib/wardd"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/wardd"]
# Plain HTTP on all interfaces is refused unless asked for (docs/security.md
# "Transport"): this default says `insecure` so the image runs as it did.
# On a ward network, run it behind the TLS proxy of docs/deploy.md instead:
#   docker run ... wardd serve --listen 0.0.0.0:8080 --behind-proxy PROXY_ADDR ...
# or give it a certificate: --tls-cert FILE --tls-key FILE.
CMD ["serve", "--listen", "0.0.0.0:8080", "--db", "/var/lib/wardd/ward.db", \
     "--web", "/usr/share/wardd/web", "--rules", "/usr/share/wardd/rules/il2-default.json", \
     "--insecure", "yes"]

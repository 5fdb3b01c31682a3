# keywire in a container: the scanner, its Flask extension (for `keywire demo`), nothing else.
#
#   docker build -t keywire .
#   docker run --rm keywire demo
#   docker run --rm keywire scan https://api.example.com/v1/resource --format json
#
# The first stage builds the wheel from this checkout; the image installs only that wheel (with
# the flask extra) into a slim Python, and runs as an unprivileged user.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip install --no-cache-dir --quiet "build>=1.2" \
    && python -m build --wheel --outdir /dist .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist/ /tmp/dist/
RUN set -eu; wheel="$(ls /tmp/dist/keywire-*-py3-none-any.whl)"; \
    python -m pip install --no-cache-dir --quiet "${wheel}[flask]"; \
    rm -rf /tmp/dist; \
    useradd --create-home --uid 10001 --shell /usr/sbin/nologin keywire
USER keywire
WORKDIR /home/keywire
ENTRYPOINT ["keywire"]
CMD ["--help"]

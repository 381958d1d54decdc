# The campaign API and CLI (Label Studio, MinIO and PostgreSQL run as their own services).
# Installed from the committed locks only: locks/uv.txt (the installer, with hashes) and
# uv.lock (every package, with hashes): the image built next month is the one built today.
FROM python:3.11-slim
WORKDIR /app
COPY locks/uv.txt locks/uv.txt
RUN pip install --no-cache-dir --require-hashes -r locks/uv.txt
COPY pyproject.toml uv.lock README.md ./
COPY campaigns campaigns
COPY nace_mapping nace_mapping
COPY services services
RUN uv sync --frozen --no-editable --extra postgres --compile-bytecode --no-cache
ENV PATH=/app/.venv/bin:$PATH
ENV CAMPAIGNS_DATABASE_URL=sqlite:////data/campaigns.db
EXPOSE 8000
# Refuses to start without CAMPAIGNS_API_TOKEN on this network address (campaigns serve --help).
CMD ["campaigns", "serve", "--host", "0.0.0.0", "--port", "8000"]

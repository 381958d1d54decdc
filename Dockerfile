# The campaign API and CLI (Label Studio, MinIO and PostgreSQL run as their own services).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY campaigns campaigns
COPY nace_mapping nace_mapping
COPY services services
RUN pip install --no-cache-dir '.[postgres]'
ENV CAMPAIGNS_DATABASE_URL=sqlite:////data/campaigns.db
EXPOSE 8000
# Refuses to start without CAMPAIGNS_API_TOKEN on this network address (campaigns serve --help).
CMD ["campaigns", "serve", "--host", "0.0.0.0", "--port", "8000"]

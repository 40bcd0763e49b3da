FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY consumers ./consumers
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /data --create-home sessionstore
USER sessionstore
VOLUME ["/data"]
ENV SESSIONSTORE_DATABASE_URL=sqlite:////data/events.db
EXPOSE 8080 9000
ENTRYPOINT ["sessionstore"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]

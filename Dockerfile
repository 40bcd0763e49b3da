FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY consumers ./consumers
RUN pip install --no-cache-dir .
ENV SESSIONSTORE_DATABASE_URL=sqlite:////data/events.db
EXPOSE 8080
ENTRYPOINT ["sessionstore"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]

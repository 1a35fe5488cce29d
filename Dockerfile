# The nurture image: worker (default), API (`nurture api`) and setup (`nurture setup`).
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
# The dkim extra: DKIM signing by nurture itself when NURTURE_DKIM_SELECTOR is set.
RUN pip install --no-cache-dir ".[dkim]"

COPY worker.py ./
COPY config ./config
COPY templates ./templates
# The workflow sandbox re-imports workflow modules for every run: ship their bytecode.
RUN python -m compileall -q workflows

RUN useradd --create-home --uid 10001 nurture
USER nurture
ENV NURTURE_HOME=/app
CMD ["python", "worker.py"]

# Label Studio, installed from the committed lock locks/label-studio.txt (every package pinned
# with its hash; the version is set once, in locks/label-studio.in): the same server as the
# test harness and `make demo` run.
FROM python:3.11-slim
COPY locks/label-studio.txt /tmp/label-studio.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/label-studio.txt && rm /tmp/label-studio.txt
ENV LABEL_STUDIO_BASE_DATA_DIR=/label-studio/data
VOLUME /label-studio/data
EXPOSE 8080
CMD ["label-studio", "start", "--no-browser", "--internal-host", "0.0.0.0", "--port", "8080"]

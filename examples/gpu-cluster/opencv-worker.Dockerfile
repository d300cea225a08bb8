# syntax=docker/dockerfile:1
# The OpenCV worker (examples/algorithms/opencv-worker.py) on an NVIDIA CUDA runtime image, for
# a WorkerPool on GPU nodes (examples/gpu-cluster/opencv-workerpool.yaml). visionq injects its
# agent at run time, so the image carries only the algorithm and its libraries.
#
#   docker build -f examples/gpu-cluster/opencv-worker.Dockerfile -t registry.example.com/vision/opencv-worker:1 .
#
# Ubuntu's python3-opencv runs MOG2, HOG and Haar on the CPU; the CUDA runtime is there for
# the GPU steps a production detector adds (cv2.dnn with a CUDA-built OpenCV, TensorRT, PyTorch).
# The node's GPU is visible either way (nvidia.com/gpu request, NVIDIA container runtime).
FROM nvcr.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive
# python3-opencv: cv2 for /usr/bin/python3; opencv-data: Haar cascades (faces); ffmpeg: codecs
# and ffprobe for operators. glibc 2.35 and libstdc++ satisfy the injected agent (docs/worker-image.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-opencv opencv-data ffmpeg \
 && rm -rf /var/lib/apt/lists/*

COPY examples/algorithms/opencv-worker.py /opt/vision/opencv-worker.py
RUN chmod 0755 /opt/vision/opencv-worker.py \
 && /usr/bin/python3 -c 'import cv2; print("opencv", cv2.__version__)'

# Non-root: the agent and the worker need only /tmp (per-attempt work dirs) and the video volume.
USER 65532:65532
WORKDIR /data
ENTRYPOINT ["/usr/bin/python3", "/opt/vision/opencv-worker.py"]

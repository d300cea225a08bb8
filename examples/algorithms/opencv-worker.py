#!/usr/bin/python3
"""A real vision worker for visionq: decodes a video frame by frame with OpenCV and detects
motion (MOG2 background subtraction), people (OpenCV's built-in HOG people detector) and,
when asked, faces (Haar cascade from Debian's opencv-data).

Runs with Debian's /usr/bin/python3 and python3-opencv (a pyenv `python3` first on PATH does not
see cv2, hence the absolute interpreter). The worker contract (README "Writing a worker"):
  input (VISIONQ_INPUT or VISIONQ_JOB_FILE .input):
    video            path of the video file (relative to the working directory)   [required]
    detect           list of "motion", "people", "faces"          (default ["motion", "people"])
    segmentSeconds   length of a result segment                    (default 1.0)
    minArea          smallest motion blob, as a fraction of the frame (default 0.002)
    peopleEvery      run the HOG detector on every Nth frame with motion (default 5)
    pace             "realtime": process no faster than the video's fps (demos)
    outputDir        also copy the key frame here (the work dir is removed after the attempt)
  progress -> VISIONQ_PROGRESS_FILE, result -> VISIONQ_RESULT_FILE (<= 16 KiB),
  annotated key frame -> $VISIONQ_WORK_DIR/keyframe.jpg.
Exit codes: 0 done; 3 permanent (no/unreadable video, bad input: list 3 in the pool's
permanentExitCodes); 1 transient (anything unexpected: retried); 143 on SIGTERM (the agent
re-queues a drained job; retrying is always safe, the worker keeps no state between attempts).
"""
import json
import os
import shutil
import signal
import sys
import time

EXIT_TRANSIENT = 1
EXIT_PERMANENT = 3
EXIT_SIGTERM = 143
RESULT_LIMIT = 15 * 1024  # status.result is capped at 16 KiB; keep a margin
HAAR_DIRS = ["/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades"]

stopping = False


def on_sigterm(_signum, _frame):
    # Only a flag: the frame loop checks it between frames and exits promptly.
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_sigterm)


def log(msg):
    print(f"[opencv-worker] {msg}", flush=True)


def fail(code, msg):
    print(f"[opencv-worker] {msg}", file=sys.stderr, flush=True)
    write_json(os.environ.get("VISIONQ_PROGRESS_FILE"), {"percent": 0, "message": msg[:200]})
    sys.exit(code)


def write_json(path, value):
    """Write via rename so the agent never reads a half-written file."""
    if not path:
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def read_input():
    if os.environ.get("VISIONQ_INPUT"):
        return json.loads(os.environ["VISIONQ_INPUT"])
    if os.environ.get("VISIONQ_JOB_FILE"):
        with open(os.environ["VISIONQ_JOB_FILE"]) as f:
            return json.load(f).get("input") or {}
    return {}


def parse_input(raw):
    if not isinstance(raw, dict):
        fail(EXIT_PERMANENT, "input must be a JSON object")
    video = raw.get("video")
    if not isinstance(video, str) or not video:
        fail(EXIT_PERMANENT, "input.video (path of a video file) is required")
    detect = raw.get("detect", ["motion", "people"])
    if isinstance(detect, str):
        detect = [detect]
    unknown = [d for d in detect if d not in ("motion", "people", "faces")]
    if unknown or not detect:
        fail(EXIT_PERMANENT, f"input.detect: unknown detector(s) {unknown}; use motion, people, faces")
    try:
        seg = float(raw.get("segmentSeconds", 1.0))
        min_area = float(raw.get("minArea", 0.002))
        people_every = max(1, int(raw.get("peopleEvery", 5)))
    except (TypeError, ValueError):
        fail(EXIT_PERMANENT, "input.segmentSeconds, minArea and peopleEvery must be numbers")
    if seg <= 0 or not 0 < min_area < 1:
        fail(EXIT_PERMANENT, "input.segmentSeconds must be > 0 and minArea in (0, 1)")
    return {
        "video": video,
        "detect": set(detect),
        "segment": seg,
        "min_area": min_area,
        "people_every": people_every,
        "realtime": raw.get("pace") == "realtime",
        "output_dir": raw.get("outputDir"),
    }


def union(a, b):
    if a is None:
        return list(b)
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return [x0, y0, x1 - x0, y1 - y0]


class Segment:
    def __init__(self, index, length):
        self.start = round(index * length, 3)
        self.end = round((index + 1) * length, 3)
        self.frames = 0
        self.motion_frames = 0
        self.max_objects = 0
        self.box = None  # union of every motion box in the segment
        self.people = 0
        self.faces = 0

    def active(self):
        return self.motion_frames > 0 or self.people > 0 or self.faces > 0

    def to_json(self):
        out = {"start": self.start, "end": self.end, "frames": self.frames, "motionFrames": self.motion_frames,
               "maxObjects": self.max_objects, "people": self.people, "faces": self.faces}
        if self.box is not None:
            out["motionBox"] = self.box
        return out


def merge_pairs(segs):
    """Halves the number of segments (a very long video must still fit in 16 KiB)."""
    out = []
    for i in range(0, len(segs), 2):
        a = dict(segs[i])
        if i + 1 < len(segs):
            b = segs[i + 1]
            a["end"] = b["end"]
            a["frames"] += b["frames"]
            a["motionFrames"] += b["motionFrames"]
            a["maxObjects"] = max(a["maxObjects"], b["maxObjects"])
            a["people"] = max(a["people"], b["people"])
            a["faces"] = max(a["faces"], b["faces"])
            if "motionBox" in b:
                a["motionBox"] = union(a.get("motionBox"), b["motionBox"])
        out.append(a)
    return out


def main():
    opts = parse_input(read_input())
    try:
        import cv2
    except ImportError as err:  # the image lacks python3-opencv: a retry on another node may help
        fail(EXIT_TRANSIENT, f"cannot import cv2 ({err}); install python3-opencv")

    progress_file = os.environ.get("VISIONQ_PROGRESS_FILE")
    work_dir = os.environ.get("VISIONQ_WORK_DIR") or "."
    video = opts["video"]
    if not os.path.isfile(video):
        fail(EXIT_PERMANENT, f"{video}: no such file")
    cap = cv2.VideoCapture(video)
    ok, frame = cap.read() if cap.isOpened() else (False, None)
    if not ok or frame is None:
        fail(EXIT_PERMANENT, f"{video}: cannot decode (not a video, or an unsupported codec)")

    fps = cap.get(cv2.CAP_PROP_FPS) or 0
    if not 0 < fps < 1000:
        fps = 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    height, width = frame.shape[:2]
    min_pixels = opts["min_area"] * width * height
    log(f"{video}: {width}x{height} @ {fps:.2f} fps, ~{total} frames, detect {sorted(opts['detect'])}")

    mog = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=25, detectShadows=False)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    hog = None
    if "people" in opts["detect"]:
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    faces = None
    if "faces" in opts["detect"]:
        path = next((os.path.join(d, "haarcascade_frontalface_default.xml") for d in HAAR_DIRS
                     if os.path.isfile(os.path.join(d, "haarcascade_frontalface_default.xml"))), None)
        if path is None:
            fail(EXIT_TRANSIENT, "no Haar cascades found; install opencv-data")
        faces = cv2.CascadeClassifier(path)

    # MOG2 needs a few frames to learn the background; motion before that is noise.
    warmup = max(3, int(fps * 0.3))
    segments = {}
    best = {"score": 0, "frame": None, "time": None, "boxes": [], "people": [], "faces": []}
    index = 0
    started = time.monotonic()
    last_progress = 0.0
    totals = {"motionFrames": 0, "people": 0, "faces": 0}

    while ok:
        if stopping:
            log(f"SIGTERM at frame {index}: stopping")
            write_json(progress_file, {"percent": round(100 * index / total, 1) if total else 0, "message": "interrupted"})
            sys.exit(EXIT_SIGTERM)
        t = index / fps
        seg_index = int(t // opts["segment"])
        seg = segments.get(seg_index) or segments.setdefault(seg_index, Segment(seg_index, opts["segment"]))
        seg.frames += 1

        boxes = []
        if "motion" in opts["detect"] or hog is not None:
            mask = mog.apply(frame)
            if index >= warmup:
                mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
                mask = cv2.dilate(mask, kernel, iterations=2)
                contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                boxes = [list(map(int, cv2.boundingRect(c))) for c in contours if cv2.contourArea(c) >= min_pixels]
        if boxes and "motion" in opts["detect"]:
            seg.motion_frames += 1
            totals["motionFrames"] += 1
            seg.max_objects = max(seg.max_objects, len(boxes))
            for b in boxes:
                seg.box = union(seg.box, b)

        people = []
        # HOG is the expensive part: only on frames with motion, every Nth, on a frame <= 640 wide.
        if hog is not None and (boxes or "motion" not in opts["detect"]) and index % opts["people_every"] == 0:
            scale = min(1.0, 640.0 / width)
            small = cv2.resize(frame, None, fx=scale, fy=scale) if scale < 1 else frame
            rects, weights = hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
            people = [[int(v / scale) for v in r] for r, w in zip(rects, weights) if float(w) > 0.5]
            seg.people = max(seg.people, len(people))
            totals["people"] = max(totals["people"], len(people))
        found_faces = []
        if faces is not None and index % opts["people_every"] == 0:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            found_faces = [list(map(int, r)) for r in faces.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))]
            seg.faces = max(seg.faces, len(found_faces))
            totals["faces"] = max(totals["faces"], len(found_faces))

        score = sum(b[2] * b[3] for b in boxes) + 10 * width * height * (len(people) + len(found_faces))
        if score > best["score"]:
            best = {"score": score, "frame": frame.copy(), "time": t, "boxes": boxes, "people": people, "faces": found_faces}

        index += 1
        now = time.monotonic()
        if now - last_progress >= 0.5:
            last_progress = now
            pct = min(99.0, round(100 * index / total, 1)) if total else 0
            write_json(progress_file, {"percent": pct, "message": f"frame {index}/{total or '?'}"})
        if opts["realtime"]:
            ahead = index / fps - (now - started)
            if ahead > 0:
                time.sleep(ahead)
        ok, frame = cap.read()
    cap.release()

    key_frame = None
    if best["frame"] is not None:
        img = best["frame"]
        for (x, y, w, h) in best["boxes"]:
            cv2.rectangle(img, (x, y), (x + w, y + h), (0, 255, 0), 2)
        for (x, y, w, h) in best["people"]:
            cv2.rectangle(img, (x, y), (x + w, y + h), (0, 0, 255), 2)
        for (x, y, w, h) in best["faces"]:
            cv2.rectangle(img, (x, y), (x + w, y + h), (255, 0, 0), 2)
        cv2.putText(img, f"t={best['time']:.2f}s", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        path = os.path.join(work_dir, "keyframe.jpg")
        if not cv2.imwrite(path, img):
            fail(EXIT_TRANSIENT, f"cannot write {path}")
        key_frame = {"file": "keyframe.jpg", "path": os.path.abspath(path), "time": round(best["time"], 3),
                     "motionBoxes": best["boxes"][:8], "people": len(best["people"]), "faces": len(best["faces"])}
        if opts["output_dir"]:
            os.makedirs(opts["output_dir"], exist_ok=True)
            name = f"{os.environ.get('VISIONQ_JOB_NAME', 'job')}-keyframe.jpg"
            dest = os.path.join(opts["output_dir"], name)
            shutil.copyfile(path, dest)
            key_frame["path"] = os.path.abspath(dest)

    active = [s.to_json() for _, s in sorted(segments.items()) if s.active()]
    result = {
        "video": video,
        "width": width,
        "height": height,
        "fps": round(fps, 3),
        "frames": index,
        "durationSeconds": round(index / fps, 3),
        "detectors": sorted(opts["detect"]),
        "segmentSeconds": opts["segment"],
        "motionFrames": totals["motionFrames"],
        "maxPeople": totals["people"],
        "maxFaces": totals["faces"],
        "segments": active,
        "keyFrame": key_frame,
        "processingSeconds": round(time.monotonic() - started, 3),
    }
    while len(json.dumps(result)) > RESULT_LIMIT and len(result["segments"]) > 1:
        result["segments"] = merge_pairs(result["segments"])
        result["segmentSeconds"] *= 2
    write_json(progress_file, {"percent": 100, "message": f"frame {index}/{index}"})
    write_json(os.environ.get("VISIONQ_RESULT_FILE"), result)
    log(f"done: {index} frames, {len(active)} active segments, {totals['motionFrames']} frames with motion, "
        f"max {totals['people']} people, in {result['processingSeconds']}s")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as err:  # unexpected: a retry may succeed (e.g. a flaky volume)
        import traceback
        traceback.print_exc()
        fail(EXIT_TRANSIENT, f"unexpected error: {err}")

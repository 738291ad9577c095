#!/usr/bin/env bash
# Fetch more real footage to evaluate on (`maskvat-foley eval --set real --media DIR`), held out
# from everything the project tuned: OpenCV's sample videos, from Debian's opencv-doc package
# (4.6.0+dfsg-12, Apache-2.0 AND BSD-3-Clause; its copyright file is copied beside them). Nothing is
# installed: the package is downloaded with `apt-get download` and unpacked with `dpkg-deb`.
#   box.mp4     a hand turning a printed box over a table, 640x480, 29.97 fps, 15 s (phone camera)
#   cup.mp4     a hand turning a black cup in front of a wall, 640x480, about 26.8 fps, 8 s
#   tree.avi    a tree in wind, a hand passing the lens at the end, 320x240, 15 fps, 4.5 s (Cinepak)
#   vtest.avi   people walking across a campus, seen from high up, 768x576, 10 fps, 80 s (MS-MPEG4)
# Their sound tracks (box, cup) are music and room tone, not the picture's sound.
#
#   bash scripts/fetch_opencv_footage.sh [DIR]     (default: train-runs/real-media-opencv, ignored by git)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-train-runs/real-media-opencv}
VERSION=${OPENCV_DOC_VERSION:-4.6.0+dfsg-12}
for tool in apt-get dpkg-deb; do
    if ! command -v "$tool" > /dev/null; then
        echo "fetch_opencv_footage.sh: needs $tool (a Debian or Ubuntu machine); nothing fetched" >&2
        exit 1
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes to the current folder; as root it warns that _apt cannot read $tmp
if ! (cd "$tmp" && apt-get download -q "opencv-doc=$VERSION" > /dev/null 2>&1); then
    echo "opencv-doc $VERSION is not in this machine's package lists; trying the version it has" >&2
    (cd "$tmp" && apt-get download -q opencv-doc > /dev/null 2>&1) || {
        echo "fetch_opencv_footage.sh: apt-get download opencv-doc failed (run apt-get update?)" >&2
        exit 1
    }
fi
dpkg-deb -x "$tmp"/opencv-doc_*.deb "$tmp/x"
doc="$tmp/x/usr/share/doc/opencv-doc"
mkdir -p "$DEST"
cp "$doc/examples/data/tree.avi" "$doc/examples/data/vtest.avi" "$DEST/"
for name in box cup; do
    gzip -dc "$doc/opencv4/html/$name.mp4.gz" > "$DEST/$name.mp4"
done
cp "$doc/copyright" "$DEST/opencv-doc.copyright"
ls "$DEST"/*.mp4 "$DEST"/*.avi

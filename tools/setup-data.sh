#!/usr/bin/env bash
# Makes Fashion-MNIST available, looking where the crate looks: $FASHION_MNIST_DIR, data/,
# /usr/share/datasets/fashion-mnist. If it is nowhere: the Debian package when apt and root are
# available, else a download from the official mirror into data/ with checksum verification.
set -euo pipefail
cd "$(dirname "$0")/.."
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
debian=/usr/share/datasets/fashion-mnist

has_all() {
  local d=$1 f
  for f in $files; do [ -f "$d/$f.gz" ] || [ -f "$d/$f" ] || return 1; done
}

if [ -n "${FASHION_MNIST_DIR:-}" ]; then
  has_all "$FASHION_MNIST_DIR" && exit 0
  echo "error: FASHION_MNIST_DIR=$FASHION_MNIST_DIR does not hold the four Fashion-MNIST files;" >&2
  echo "       unset it to use data/ or the Debian package, or point it at the right folder" >&2
  exit 1
fi
has_all data && exit 0
has_all "$debian" && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "==> installing Fashion-MNIST: apt-get install dataset-fashion-mnist"
  apt-get update -qq >/dev/null || true
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null && has_all "$debian"; then
    exit 0
  fi
  echo "    the Debian package is not available here; downloading instead"
fi

mirror=${FASHION_MNIST_MIRROR:-http://fashion-mnist.s3-website.eu-central-1.amazonaws.com}
declare -A sha=(
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)
command -v curl >/dev/null || { echo "error: Fashion-MNIST not found and curl is missing to download it. Install curl, or put the four .gz files in data/ (see data/README.md)" >&2; exit 1; }
mkdir -p data
for f in $files; do
  [ -f "data/$f.gz" ] && continue
  echo "==> downloading $f.gz from $mirror"
  if ! curl -fsSL --retry 3 -o "data/$f.gz.partial" "$mirror/$f.gz"; then
    rm -f "data/$f.gz.partial"
    echo "error: could not download $f.gz. Put the four files in data/ by hand (see data/README.md) or set FASHION_MNIST_DIR" >&2
    exit 1
  fi
  got=$(gunzip -c "data/$f.gz.partial" | sha256sum | cut -d' ' -f1)
  if [ "$got" != "${sha[$f]}" ]; then
    rm -f "data/$f.gz.partial"
    echo "error: $f.gz from $mirror has the wrong checksum ($got); try again later or another mirror (FASHION_MNIST_MIRROR)" >&2
    exit 1
  fi
  mv "data/$f.gz.partial" "data/$f.gz"
done

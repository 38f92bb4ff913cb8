#!/usr/bin/env bash
# One-command set-up for robolang on a fresh machine (Debian/Ubuntu, Python 3.11).
#   bash install.sh
# Installs FFmpeg's shared libraries (torchcodec, which LeRobot uses to decode dataset
# videos, needs them), the DejaVu font and Chromium (the labelling page's browser test) when
# apt is available and we are root, then the package with its test extras. lerobot==0.4.4
# pulls a CUDA build of torch 2.10 (~4 GB): expect minutes.
set -euo pipefail
cd "$(dirname "$0")"

packages=()
ldconfig -p 2>/dev/null | grep libavcodec >/dev/null || packages+=(ffmpeg)
# A TrueType font with non-Latin glyphs, for instructions drawn on ask/eval videos as written.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || packages+=(fonts-dejavu-core)
# Chromium, for the labelling page's browser test (Playwright drives it; its own download is unreachable).
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || packages+=(chromium)
if [ ${#packages[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${packages[@]}"
    else
        echo "warning: missing system packages: ${packages[*]} (e.g. apt-get install ${packages[*]})" >&2
    fi
fi

python3 -m pip install --upgrade-strategy only-if-needed -e ".[dev]"
# LeRobot finds third-party robots by distribution name (lerobot_robot_*): the plugin that
# registers robolang's robots with lerobot-record / lerobot-teleoperate. --no-deps: it names none.
python3 -m pip install --no-deps -e ./lerobot_robot_robolang
echo "robolang installed: try 'robolang --help'"

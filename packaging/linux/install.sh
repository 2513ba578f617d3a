#!/bin/sh
# Install Shrinkwise's desktop integration for the current user: the menu entry, the icon (SVG + PNGs in the
# hicolor theme) and the *.shrinkwise.json file type, so double-clicking a project opens it in Shrinkwise.
#
#   packaging/linux/install.sh [--exec PROGRAM] [--data-dir DIR] [--uninstall]
#
# PROGRAM is what the menu entry runs (`PROGRAM gui FILE`). Default: the bundle dist/shrinkwise/shrinkwise if it
# was built, else `shrinkwise` found on PATH (pip/pipx install). DIR defaults to $XDG_DATA_HOME or ~/.local/share.
# update-mime-database, update-desktop-database and gtk-update-icon-cache run when present; without them the
# files are still installed and desktops pick them up at the next login.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DATA_DIR=${XDG_DATA_HOME:-$HOME/.local/share}
EXEC=""
UNINSTALL=0
SIZES="16 32 48 64 128 256"

while [ $# -gt 0 ]; do
    case "$1" in
        --exec) EXEC=$2; shift 2 ;;
        --data-dir) DATA_DIR=$2; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

APPS="$DATA_DIR/applications"
MIME="$DATA_DIR/mime"
ICONS="$DATA_DIR/icons/hicolor"

refresh() {
    if command -v update-mime-database >/dev/null 2>&1; then
        update-mime-database "$MIME" || echo "install.sh: update-mime-database failed (files are installed)" >&2
    else
        echo "install.sh: update-mime-database not found; the file type is registered at the next login"
    fi
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database "$APPS" || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$ICONS/index.theme" ]; then
        gtk-update-icon-cache -q -t "$ICONS" || true
    fi
}

if [ "$UNINSTALL" = 1 ]; then
    rm -f "$APPS/shrinkwise.desktop" "$MIME/packages/shrinkwise.xml" "$ICONS/scalable/apps/shrinkwise.svg"
    for s in $SIZES; do rm -f "$ICONS/${s}x${s}/apps/shrinkwise.png"; done
    mkdir -p "$MIME/packages" "$APPS"
    refresh
    echo "removed Shrinkwise's desktop entry, icon and file type from $DATA_DIR"
    exit 0
fi

if [ -z "$EXEC" ]; then
    if [ -x "$REPO/dist/shrinkwise/shrinkwise" ]; then
        EXEC="$REPO/dist/shrinkwise/shrinkwise"
    elif command -v shrinkwise >/dev/null 2>&1; then
        EXEC=$(command -v shrinkwise)
    else
        echo "install.sh: no program to run: build the bundle (make package), install with pipx/pip, or pass --exec" >&2
        exit 1
    fi
fi
case "$EXEC" in
    /*) ;;
    *) if command -v "$EXEC" >/dev/null 2>&1; then EXEC=$(command -v "$EXEC"); fi ;;
esac

# The desktop entry spec: an Exec argument with spaces or quotes must be double-quoted, with " ` $ \ escaped.
QUOTED=$EXEC
case "$EXEC" in
    *[[:space:]\"\`\$\\]*) QUOTED="\"$(printf '%s' "$EXEC" | sed 's/[\\"`$]/\\&/g')\"" ;;
esac

mkdir -p "$APPS" "$MIME/packages" "$ICONS/scalable/apps"
# sed's replacement needs & \ and the delimiter escaped.
SAFE_QUOTED=$(printf '%s' "$QUOTED" | sed 's/[&|\\]/\\&/g')
SAFE_EXEC=$(printf '%s' "$EXEC" | sed 's/[&|\\]/\\&/g')
sed -e "s|^Exec=@EXEC@|Exec=$SAFE_QUOTED|" -e "s|^TryExec=@EXEC@|TryExec=$SAFE_EXEC|" \
    "$HERE/shrinkwise.desktop" > "$APPS/shrinkwise.desktop"
chmod 644 "$APPS/shrinkwise.desktop"
cp "$HERE/shrinkwise-mime.xml" "$MIME/packages/shrinkwise.xml"
cp "$HERE/icons/shrinkwise.svg" "$ICONS/scalable/apps/shrinkwise.svg"
for s in $SIZES; do
    mkdir -p "$ICONS/${s}x${s}/apps"
    cp "$HERE/icons/shrinkwise-$s.png" "$ICONS/${s}x${s}/apps/shrinkwise.png"
done
refresh
echo "installed Shrinkwise's desktop entry (runs: $EXEC gui FILE), icon and *.shrinkwise.json file type into $DATA_DIR"

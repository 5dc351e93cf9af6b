#!/bin/bash -eu
# ClusterFuzzLite runs $SRC/build.sh (this file) from $SRC/bitmapalloc; the
# build itself is shared with OSS-Fuzz.
exec bash -eu "$SRC/bitmapalloc/fuzz/oss-fuzz/build.sh"

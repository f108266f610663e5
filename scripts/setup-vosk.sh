#!/usr/bin/env bash
# Installs the small English Vosk model from Maven Central (com.alphacephei:vosk-model-en, an Android aar
# that is a zip holding the model directory) at $CACHE_DIR/vosk-model-en and prints its path.
# Idempotent: a model that is already installed is reused without touching the network.
#
#   scripts/setup-vosk.sh            newest version <= 0.3.70 that Maven can resolve (falls back to 0.3.45)
#   VOSK_MODEL_VERSION=0.3.45 scripts/setup-vosk.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODEL_DIR="$CACHE_DIR/vosk-model-en"
MAX_VERSION="0.3.70"
# Central serves no maven-metadata.xml for this artifact (measured: 404), so a version range cannot be
# resolved there; 0.3.45 is the newest version whose aar it serves.
FALLBACK_VERSION="0.3.45"
# Maven's own repository lives in the cache too, so a re-run after a wiped model needs no network.
M2_REPO="$CACHE_DIR/m2"

is_model() { [ -d "$1/am" ] && [ -d "$1/conf" ] && [ -d "$1/graph" ]; }

# Kaldi's own feature dither is random and unseeded: the same audio decoded twice could give other words. With
# it off, the agent adds the same dither from a fixed seed (ari_agent/asr/vosk.py), so replays are exact.
no_dither() {
    grep -qx -- '--dither=0.0' "$1/conf/mfcc.conf" 2>/dev/null || echo '--dither=0.0' >>"$1/conf/mfcc.conf"
}

step "vosk model"
if is_model "$MODEL_DIR" && [ -f "$MODEL_DIR/.ari-agent-version" ]; then
    no_dither "$MODEL_DIR"
    step_done "cached, version $(cat "$MODEL_DIR/.ari-agent-version")"
    echo "$MODEL_DIR"
    exit 0
fi

command -v mvn >/dev/null 2>&1 || apt_install maven
command -v unzip >/dev/null 2>&1 || apt_install unzip

work="$(mktemp -d "$CACHE_DIR/vosk-fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

version="${VOSK_MODEL_VERSION:-}"
if [ -z "$version" ]; then
    # A throw-away pom with a version range lets Maven pick the newest release <= MAX_VERSION itself.
    cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ari-agent</groupId><artifactId>vosk-model-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>com.alphacephei</groupId><artifactId>vosk-model-en</artifactId>
      <version>[0.3.0,$MAX_VERSION]</version><type>aar</type></dependency>
  </dependencies>
</project>
POM
    if (cd "$work" && mvn -B -q -U -Dmaven.repo.local="$M2_REPO" \
            org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
            -DexcludeTransitive=true -DoutputDirectory="$work/aar" >"$work/mvn-range.log" 2>&1); then
        aar="$(ls "$work"/aar/vosk-model-en-*.aar)"
        version="$(basename "$aar" .aar)"
        version="${version#vosk-model-en-}"
    else
        printf '    no version range resolvable on Central (no maven-metadata.xml); using %s\n' \
            "$FALLBACK_VERSION" >&2
        version="$FALLBACK_VERSION"
    fi
fi

if [ ! -f "$work/aar/vosk-model-en-$version.aar" ]; then
    (cd "$work" && mvn -B -q -Dmaven.repo.local="$M2_REPO" org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
        -Dartifact="com.alphacephei:vosk-model-en:$version:aar" -DoutputDirectory="$work/aar" \
        >"$work/mvn-copy.log" 2>&1) || { cat "$work/mvn-copy.log" >&2; die "maven could not fetch vosk-model-en:$version:aar"; }
fi
aar="$work/aar/vosk-model-en-$version.aar"
[ -s "$aar" ] || die "maven produced no $aar"

mkdir -p "$work/x"
unzip -q "$aar" -d "$work/x" || die "$aar is not a zip"
# The model directory is wherever am/, conf/ and graph/ sit together (the aar nests it under assets/).
found=""
while IFS= read -r conf; do
    cand="$(dirname "$conf")"
    if is_model "$cand"; then found="$cand"; break; fi
done < <(find "$work/x" -type d -name conf | sort)
[ -n "$found" ] || die "vosk-model-en:$version.aar holds no model directory (am/, conf/, graph/): unusable"

rm -rf "$MODEL_DIR.new" "$MODEL_DIR"
mv "$found" "$MODEL_DIR.new"
echo "$version" >"$MODEL_DIR.new/.ari-agent-version"
no_dither "$MODEL_DIR.new"
mv "$MODEL_DIR.new" "$MODEL_DIR"
step_done "installed version $version ($(du -sh "$MODEL_DIR" | cut -f1))"
echo "$MODEL_DIR"

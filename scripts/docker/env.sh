# Sourced by scripts/docker/*.sh: points podman/buildah at our containers.conf and
# installs the Debian tools they need when one is missing (quick when all are present).
DOCKER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=$DOCKER_DIR/containers.conf
# build steps run in a chroot: no nested namespaces needed on these VMs
export BUILDAH_ISOLATION=chroot
# debootstrap and runc live in sbin, which a non-login shell may not have on PATH
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH=$PATH:/usr/sbin:/sbin ;; esac

DOCKER_DEB_PKGS=(podman buildah runc debootstrap)

docker_install_tools() {
  local p missing=()
  for p in "${DOCKER_DEB_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "docker: installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

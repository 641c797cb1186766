#!/usr/bin/env bash
# The guest kernel of VM isolation (docs/design.md "VM isolation"): Debian's
# generic kernel package (it has 9p and virtiofs as modules; the cloud
# flavour has no 9p) is downloaded with apt-get download and unpacked with
# dpkg-deb -x into $ARCA_VM_DIR (default /var/cache/arca/vm) -- never
# installed as the host's kernel.  Kept from it: the kernel image and the
# few modules the guest agent loads from its initramfs, listed in
# dependency order.  Idempotent: nothing happens when the files of the
# current package version are there.
#
#   $ARCA_VM_DIR/vmlinux                 the kernel, uncompressed (daemon config vm.kernelPath)
#   $ARCA_VM_DIR/vmlinuz                 the package's compressed image, as shipped
#   $ARCA_VM_DIR/modules/*.ko            the modules (vm.modulesPath)
#   $ARCA_VM_DIR/modules/modules.list    load order
#   $ARCA_VM_DIR/kernel.version          package and version it came from
set -euo pipefail

VM_DIR=${ARCA_VM_DIR:-/var/cache/arca/vm}
META=linux-image-amd64
# virtio over MMIO (QEMU's microvm), the host channel (virtio-serial; vsock
# where the host has vhost-vsock), the network, and the shares (9p;
# virtiofs where the host has virtiofsd).  Dependencies are added below.
MODULES=(virtio_mmio virtio_console virtio_net 9pnet_virtio 9p virtiofs vmw_vsock_virtio_transport)

pkg=$(apt-cache depends "$META" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-vm-kernel: $META unknown to apt and not root to update the lists" >&2
    exit 1
  fi
  apt-get update -qq
  pkg=$(apt-cache depends "$META" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
fi
[ -n "$pkg" ] || { echo "setup-vm-kernel: cannot find the package $META depends on" >&2; exit 1; }
version=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
want="$pkg $version"
if [ -f "$VM_DIR/kernel.version" ] && [ "$(cat "$VM_DIR/kernel.version")" = "$want" ] &&
   [ -s "$VM_DIR/vmlinux" ] && [ -s "$VM_DIR/modules/modules.list" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-vm-kernel: need root to prepare $VM_DIR" >&2
  exit 1
fi
echo "setup: preparing the VM guest kernel from $want in $VM_DIR" >&2
mkdir -p "$VM_DIR"
work=$(mktemp -d "$VM_DIR/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version")
dpkg-deb -x "$work"/*.deb "$work/x"

declare -A path=()   # module name -> .ko file
while IFS= read -r ko; do
  name=$(basename "$ko" .ko)
  path[${name//-/_}]=$ko
done < <(find "$work/x/lib/modules" -name '*.ko')

mkdir -p "$work/out/modules"
declare -A added=()
order=()
add() {
  local m=${1//-/_} d deps
  [ -n "${added[$m]:-}" ] && return 0
  added[$m]=1
  if [ -z "${path[$m]:-}" ]; then
    # Built into this kernel: nothing to load.
    grep -q "/$m.ko\$" "$work"/x/lib/modules/*/modules.builtin 2>/dev/null && return 0
    echo "setup-vm-kernel: module $m not in $pkg" >&2
    exit 1
  fi
  deps=$(tr '\0' '\n' <"${path[$m]}" | sed -n 's/^depends=//p' | tr ',' ' ')
  for d in $deps; do add "$d"; done
  order+=("$m")
}
for m in "${MODULES[@]}"; do add "$m"; done
for m in "${order[@]}"; do
  cp "${path[$m]}" "$work/out/modules/$m.ko"
  echo "$m.ko" >>"$work/out/modules/modules.list"
done
cp "$work"/x/boot/vmlinuz-* "$work/out/vmlinuz"

# The uncompressed ELF kernel: QEMU's microvm starts it at its PVH entry
# point, skipping the bzImage's decompressor, which takes ~15 s under TCG.
# The payload is found by its compression magic, as the kernel's
# scripts/extract-vmlinux does.
extract() {
  local magic=$1 cmd=$2 off
  off=$(LC_ALL=C grep -obUaP "$magic" "$work/out/vmlinuz" | head -1 | cut -d: -f1)
  [ -n "$off" ] || return 1
  tail -c +"$((off + 1))" "$work/out/vmlinuz" | $cmd >"$work/out/vmlinux" 2>/dev/null || true
  [ "$(head -c 4 "$work/out/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]
}
extract '\xfd\x37\x7a\x58\x5a\x00' 'xz -dcq' || extract '\x28\xb5\x2f\xfd' 'zstd -dcq' ||
  extract '\x1f\x8b\x08' 'gzip -dcq' || { echo "setup-vm-kernel: cannot extract vmlinux from $pkg" >&2; exit 1; }
echo "$want" >"$work/out/kernel.version"

# Swap the new files in.
rm -rf "$VM_DIR/modules" "$VM_DIR/vmlinuz" "$VM_DIR/vmlinux" "$VM_DIR/kernel.version"
mv "$work/out/modules" "$VM_DIR/modules"
mv "$work/out/vmlinuz" "$VM_DIR/vmlinuz"
mv "$work/out/vmlinux" "$VM_DIR/vmlinux"
mv "$work/out/kernel.version" "$VM_DIR/kernel.version"

#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<harness>/).
The seeds are committed; rerun this after changing it.  Small on purpose:
libFuzzer grows its own corpus from them (in the build dir)."""
import gzip
import hashlib
import io
import json
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_http: "METHOD\0/path?query"
for i, (m, u) in enumerate([
    ("GET", "/v1.51/containers/json?all=1&filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D"),
    ("POST", "/containers/create?name=web&platform=linux%2Famd64"),
    ("GET", "/v1.41/images/127.0.0.1:5000/library/busybox:latest/json"),
    ("POST", "/v1.51/containers/abc/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-p,ctrl-q"),
    ("GET", "/images/json?filters={\"dangling\":[\"true\"],\"until\":[\"24h\"]}"),
    ("DELETE", "/v1.23/volumes/x%00y?force=true"),
    ("GET", "/events?since=0&until=1700000000.5&filters=%7B%22type%22%3A%5B%22container%22%5D%7D"),
    ("PUT", "/containers/c1/archive?path=/tmp&noOverwriteDirNonDir=true&copyUIDGID=1"),
]):
    put("fuzz_http", "req%d" % i, m + "\0" + u)

# ---- fuzz_options: first byte even = create, odd = update
create = {
    "Hostname": "h", "User": "1000:1000", "Env": ["A=B"], "Cmd": ["sh", "-c", "true"], "Image": "busybox",
    "Labels": {"a": "b"}, "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGTERM", "Healthcheck": {
        "Test": ["CMD", "true"], "Interval": 1000000000},
    "HostConfig": {
        "Binds": ["/tmp:/mnt:ro,rprivate"], "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}, "CapAdd": ["NET_ADMIN"], "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges", "seccomp=unconfined"], "Memory": 67108864, "MemorySwap": -1,
        "NanoCpus": 500000000, "CpusetCpus": "0", "PidsLimit": 100, "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "rwm"}],
        "Tmpfs": {"/run": "size=1m"}, "ShmSize": 1048576, "Sysctls": {"net.ipv4.ip_forward": "1"},
        "Mounts": [{"Type": "volume", "Source": "v", "Target": "/data", "VolumeOptions": {"NoCopy": True}}],
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}, "NetworkMode": "bridge",
        "IpcMode": "shareable", "PidMode": "host", "UTSMode": "", "CgroupnsMode": "private",
        "BlkioWeightDevice": [{"Path": "/dev/sda", "Weight": 100}],
        "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1048576}]},
    "NetworkingConfig": {"EndpointsConfig": {"n1": {"Aliases": ["a"], "IPAMConfig": {"IPv4Address": "10.0.0.5"}}}},
}
put("fuzz_options", "create-full", b"\0" + json.dumps(create).encode())
put("fuzz_options", "create-min", b"\0" + json.dumps({"Image": "busybox", "Cmd": "true"}).encode())
put("fuzz_options", "create-badtype", b"\0" + json.dumps({"Image": "b", "HostConfig": {"Memory": "1g"}}).encode())
put("fuzz_options", "update", b"\1" + json.dumps({"Memory": 10485760, "CpuShares": 512, "RestartPolicy": {"Name": "always"},
                                                   "PidsLimit": -1, "BlkioWeight": 300}).encode())

# ---- fuzz_imageref: "ref\0platform\0X-Registry-Auth\0WWW-Authenticate"
import base64
auth = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": "p", "serveraddress": "127.0.0.1:5000"}).encode()).decode()
for i, r in enumerate([
    "busybox", "library/busybox:1.36", "127.0.0.1:5000/a/b:tag@sha256:" + "a" * 64, "localhost/x",
    "docker.io/library/alpine@sha256:" + "0" * 64, "UPPER/case", "[::1]:5000/img:v1", "a" * 64,
]):
    put("fuzz_imageref", "ref%d" % i, "\0".join([r, "linux/arm64/v8", auth,
                                                  'Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"']))

# ---- fuzz_manifest: "media type\0manifest\0config"
dg = "sha256:" + "1" * 64
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": dg, "size": 100},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "2" * 64, "size": 10}]}
config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "3" * 64]}}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"digest": dg, "size": 500, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
    {"digest": "sha256:" + "4" * 64, "size": 500, "platform": {"os": "linux", "architecture": "amd64"}}]}
put("fuzz_manifest", "oci", "\0".join(["application/vnd.oci.image.manifest.v1+json", json.dumps(manifest), json.dumps(config)]))
put("fuzz_manifest", "docker", "\0".join(["application/vnd.docker.distribution.manifest.v2+json", json.dumps(manifest), json.dumps(config)]))
put("fuzz_manifest", "index", "\0".join(["application/vnd.oci.image.index.v1+json", json.dumps(index), ""]))
put("fuzz_manifest", "schema1", "\0".join(["application/vnd.docker.distribution.manifest.v1+prettyjws",
                                            json.dumps({"schemaVersion": 1, "fsLayers": []}), ""]))


# ---- fuzz_dns: wire-format queries
def query(name, qtype, qid=0x1234, flags=0x0100, qdcount=1):
    q = struct.pack(">HHHHHH", qid, flags, qdcount, 0, 0, 0)
    for label in name.split("."):
        if label:
            q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


put("fuzz_dns", "a-web", query("web", 1))
put("fuzz_dns", "a-web-net", query("web.fuzznet", 1))
put("fuzz_dns", "aaaa-web", query("web", 28))
put("fuzz_dns", "ptr", query("3.0.30.172.in-addr.arpa", 12))
put("fuzz_dns", "a-external", query("example.com", 1))
put("fuzz_dns", "mx", query("web", 15))
put("fuzz_dns", "notify", query("web", 1, flags=0x2000))
put("fuzz_dns", "two-questions", query("web", 1, qdcount=2))
put("fuzz_dns", "compressed", struct.pack(">HHHHHH", 1, 0x100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1))


# ---- tarballs
def tar_bytes(entries, fmt=tarfile.GNU_FORMAT, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.linkname = e.get("link", "")
            ti.mode = e.get("mode", 0o644)
            ti.uid = e.get("uid", 0)
            if "pax" in e:
                ti.pax_headers = e["pax"]
            data = e.get("data", b"")
            if ti.type == tarfile.REGTYPE:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                if ti.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                    ti.devmajor, ti.devminor = e.get("dev", (1, 3))
                t.addfile(ti)
    b = buf.getvalue()
    return gzip.compress(b, mtime=0) if gz else b


layer_entries = [
    {"name": "etc/", "type": tarfile.DIRTYPE, "mode": 0o755},
    {"name": "etc/passwd", "data": b"root:x:0:0::/root:/bin/sh\n"},
    {"name": "etc/.wh.shadow"},
    {"name": "var/", "type": tarfile.DIRTYPE},
    {"name": "var/.wh..wh..opq"},
    {"name": "etc/hard", "type": tarfile.LNKTYPE, "link": "etc/passwd"},
    {"name": "etc/sym", "type": tarfile.SYMTYPE, "link": "/etc/passwd"},
    {"name": "dev/null", "type": tarfile.CHRTYPE, "dev": (1, 3)},
    {"name": "fifo", "type": tarfile.FIFOTYPE},
]
put("fuzz_layer", "layer", b"\0" + tar_bytes(layer_entries))
put("fuzz_layer", "layer-gz", b"\0" + tar_bytes(layer_entries, gz=True))
put("fuzz_layer", "archive", b"\1" + tar_bytes(layer_entries[:3] + layer_entries[5:7]))
hostile = [
    {"name": "../escape", "data": b"x"},
    {"name": "/abs", "data": b"x"},
    {"name": "link", "type": tarfile.SYMTYPE, "link": "../../.."},
    {"name": "link/through", "data": b"x"},
    {"name": "hard-out", "type": tarfile.LNKTYPE, "link": "../in.tar"},
    {"name": "a/b/../../../c", "data": b"x"},
    {"name": "x" * 300, "data": b"long"},
    {"name": "pax", "data": b"p", "pax": {"path": "../pax-escape", "SCHILY.xattr.user.a": "b"}},
]
put("fuzz_layer", "hostile", b"\0" + tar_bytes(hostile, fmt=tarfile.PAX_FORMAT))
put("fuzz_layer", "hostile-archive", b"\1" + tar_bytes(hostile, fmt=tarfile.PAX_FORMAT))


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


layer = tar_bytes([{"name": "hello.txt", "data": b"hello\n"}])
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/hello"]},
                  "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
cfg_hex = hashlib.sha256(cfg).hexdigest()
layer_hex = hashlib.sha256(layer).hexdigest()
save = tar_bytes([
    {"name": cfg_hex + ".json", "data": cfg},
    {"name": layer_hex + "/", "type": tarfile.DIRTYPE},
    {"name": layer_hex + "/layer.tar", "data": layer},
    {"name": "manifest.json", "data": json.dumps([{"Config": cfg_hex + ".json", "RepoTags": ["fuzz:latest"],
                                                    "Layers": [layer_hex + "/layer.tar"]}]).encode()},
    {"name": "repositories", "data": json.dumps({"fuzz": {"latest": layer_hex}}).encode()},
])
put("fuzz_load", "docker-save", save)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
                  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer), "size": len(layer)}]}).encode()
idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man), "size": len(man),
     "annotations": {"io.containerd.image.name": "docker.io/library/fuzz:oci", "org.opencontainers.image.ref.name": "oci"}}]}).encode()
oci = tar_bytes([
    {"name": "oci-layout", "data": b'{"imageLayoutVersion":"1.0.0"}'},
    {"name": "index.json", "data": idx},
    {"name": "blobs/sha256/" + hashlib.sha256(cfg).hexdigest(), "data": cfg},
    {"name": "blobs/sha256/" + hashlib.sha256(layer).hexdigest(), "data": layer},
    {"name": "blobs/sha256/" + hashlib.sha256(man).hexdigest(), "data": man},
])
put("fuzz_load", "oci", oci)
put("fuzz_load", "manifest-escape", tar_bytes([
    {"name": "manifest.json", "data": json.dumps([{"Config": "../../etc/passwd", "RepoTags": ["x:y"], "Layers": ["/etc/shadow"]}]).encode()},
    {"name": "lnk", "type": tarfile.SYMTYPE, "link": "/etc"},
]))

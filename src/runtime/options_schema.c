/* The Docker API's request types as Go declares them (moby api/types at
 * v28.5: container.CreateRequest, Config, HostConfig, Resources,
 * UpdateConfig; mount.Mount; network.NetworkingConfig), for util/godecode:
 * the JSON names, the Go type names dockerd's decode errors quote, and the
 * embedded structs its Go 1.24 errors name in the field path. */
#include "runtime/options.h"

#include "util/godecode.h"

#define T(kind_, name_) { .kind = kind_, .name = name_ }
#define STR(name_) { .kind = GO_STRING, .name = name_ }
#define FIELD(n, t) { .name = n, .type = &t }
#define PTR(n, t) { .name = n, .type = &t, .nullable = true }
#define EMB(e, n, t) { .name = n, .type = &t, .embedded = e }
#define EMBPTR(e, n, t) { .name = n, .type = &t, .embedded = e, .nullable = true }
#define END { .name = NULL }

static const go_type_t t_int = { .kind = GO_INT, .name = "int", .bits = 64 };
static const go_type_t t_uint = { .kind = GO_UINT, .name = "uint", .bits = 64 };
static const go_type_t t_duration = { .kind = GO_INT, .name = "time.Duration", .bits = 64 };
static const go_type_t t_filemode = { .kind = GO_UINT, .name = "fs.FileMode", .bits = 32 };
static const go_type_t t_empty = { .kind = GO_EMPTY, .name = "struct {}" };
static const go_type_t t_empty_map = { .kind = GO_MAP, .name = "map[string]struct {}", .elem = &t_empty };
static const go_type_t t_port_set = { .kind = GO_MAP, .name = "nat.PortSet", .elem = &t_empty };

/* ---- container.Config ---- */

static const go_field_t health_fields[] = {
  FIELD ("Test", go_string_slice),     FIELD ("Interval", t_duration), FIELD ("Timeout", t_duration),
  FIELD ("StartPeriod", t_duration),   FIELD ("StartInterval", t_duration), FIELD ("Retries", t_int),
  END,
};
static const go_type_t t_health = { .kind = GO_STRUCT, .name = "container.HealthConfig", .fields = health_fields };

/* Config's fields as promoted into CreateRequest (embedded "Config"). */
#define CONFIG_FIELDS(E)                                                                                              \
  EMB (E, "Hostname", go_string), EMB (E, "Domainname", go_string), EMB (E, "User", go_string),                   \
      EMB (E, "AttachStdin", go_bool), EMB (E, "AttachStdout", go_bool), EMB (E, "AttachStderr", go_bool),        \
      EMB (E, "ExposedPorts", t_port_set), EMB (E, "Tty", go_bool), EMB (E, "OpenStdin", go_bool),                \
      EMB (E, "StdinOnce", go_bool), EMB (E, "Env", go_string_slice), EMB (E, "Cmd", go_strslice),                 \
      EMBPTR (E, "Healthcheck", t_health), EMB (E, "ArgsEscaped", go_bool), EMB (E, "Image", go_string),           \
      EMB (E, "Volumes", t_empty_map), EMB (E, "WorkingDir", go_string), EMB (E, "Entrypoint", go_strslice),       \
      EMB (E, "NetworkDisabled", go_bool), EMB (E, "MacAddress", go_string), EMB (E, "OnBuild", go_string_slice), \
      EMB (E, "Labels", go_string_map), EMB (E, "StopSignal", go_string), EMBPTR (E, "StopTimeout", t_int),       \
      EMB (E, "Shell", go_strslice)

/* ---- container.Resources ---- */

static const go_field_t weight_device_fields[] = { FIELD ("Path", go_string), FIELD ("Weight", go_uint16), END };
static const go_type_t t_weight_device
    = { .kind = GO_STRUCT, .name = "blkiodev.WeightDevice", .fields = weight_device_fields };
static const go_type_t t_weight_devices = { .kind = GO_SLICE,
                                            .name = "[]*blkiodev.WeightDevice",
                                            .elem = &t_weight_device,
                                            .elem_nullable = true };
static const go_field_t throttle_device_fields[] = { FIELD ("Path", go_string), FIELD ("Rate", go_uint64), END };
static const go_type_t t_throttle_device
    = { .kind = GO_STRUCT, .name = "blkiodev.ThrottleDevice", .fields = throttle_device_fields };
static const go_type_t t_throttle_devices = { .kind = GO_SLICE,
                                              .name = "[]*blkiodev.ThrottleDevice",
                                              .elem = &t_throttle_device,
                                              .elem_nullable = true };
static const go_field_t device_mapping_fields[] = {
  FIELD ("PathOnHost", go_string), FIELD ("PathInContainer", go_string), FIELD ("CgroupPermissions", go_string), END,
};
static const go_type_t t_device_mapping
    = { .kind = GO_STRUCT, .name = "container.DeviceMapping", .fields = device_mapping_fields };
static const go_type_t t_device_mappings
    = { .kind = GO_SLICE, .name = "[]container.DeviceMapping", .elem = &t_device_mapping };
static const go_type_t t_string_slices = { .kind = GO_SLICE, .name = "[][]string", .elem = &go_string_slice };
static const go_field_t device_request_fields[] = {
  FIELD ("Driver", go_string),          FIELD ("Count", t_int), FIELD ("DeviceIDs", go_string_slice),
  FIELD ("Capabilities", t_string_slices), FIELD ("Options", go_string_map), END,
};
static const go_type_t t_device_request
    = { .kind = GO_STRUCT, .name = "container.DeviceRequest", .fields = device_request_fields };
static const go_type_t t_device_requests
    = { .kind = GO_SLICE, .name = "[]container.DeviceRequest", .elem = &t_device_request };
static const go_field_t ulimit_fields[] = { FIELD ("Name", go_string), FIELD ("Hard", go_int64),
                                            FIELD ("Soft", go_int64), END };
static const go_type_t t_ulimit = { .kind = GO_STRUCT, .name = "units.Ulimit", .fields = ulimit_fields };
static const go_type_t t_ulimits
    = { .kind = GO_SLICE, .name = "[]*units.Ulimit", .elem = &t_ulimit, .elem_nullable = true };

#define RESOURCES_FIELDS(E)                                                                                          \
  EMB (E, "CpuShares", go_int64), EMB (E, "Memory", go_int64), EMB (E, "NanoCpus", go_int64),                       \
      EMB (E, "CgroupParent", go_string), EMB (E, "BlkioWeight", go_uint16),                                      \
      EMB (E, "BlkioWeightDevice", t_weight_devices), EMB (E, "BlkioDeviceReadBps", t_throttle_devices),           \
      EMB (E, "BlkioDeviceWriteBps", t_throttle_devices), EMB (E, "BlkioDeviceReadIOps", t_throttle_devices),      \
      EMB (E, "BlkioDeviceWriteIOps", t_throttle_devices), EMB (E, "CpuPeriod", go_int64),                         \
      EMB (E, "CpuQuota", go_int64), EMB (E, "CpuRealtimePeriod", go_int64), EMB (E, "CpuRealtimeRuntime", go_int64), \
      EMB (E, "CpusetCpus", go_string), EMB (E, "CpusetMems", go_string), EMB (E, "Devices", t_device_mappings),  \
      EMB (E, "DeviceCgroupRules", go_string_slice), EMB (E, "DeviceRequests", t_device_requests),                 \
      EMB (E, "KernelMemory", go_int64), EMB (E, "KernelMemoryTCP", go_int64),                                     \
      EMB (E, "MemoryReservation", go_int64), EMB (E, "MemorySwap", go_int64),                                     \
      EMBPTR (E, "MemorySwappiness", go_int64), EMBPTR (E, "OomKillDisable", go_bool),                             \
      EMBPTR (E, "PidsLimit", go_int64), EMB (E, "Ulimits", t_ulimits), EMB (E, "CpuCount", go_int64),             \
      EMB (E, "CpuPercent", go_int64), EMB (E, "IOMaximumIOps", go_uint64), EMB (E, "IOMaximumBandwidth", go_uint64)

/* ---- container.HostConfig ---- */

static const go_field_t log_config_fields[] = { FIELD ("Type", go_string), FIELD ("Config", go_string_map), END };
static const go_type_t t_log_config = { .kind = GO_STRUCT, .name = "container.LogConfig", .fields = log_config_fields };
static const go_type_t t_restart_mode = STR ("container.RestartPolicyMode");
static const go_field_t restart_policy_fields[] = { FIELD ("Name", t_restart_mode), FIELD ("MaximumRetryCount", t_int),
                                                    END };
static const go_type_t t_restart_policy
    = { .kind = GO_STRUCT, .name = "container.RestartPolicy", .fields = restart_policy_fields };
static const go_field_t port_binding_fields[] = { FIELD ("HostIp", go_string), FIELD ("HostPort", go_string), END };
static const go_type_t t_port_binding = { .kind = GO_STRUCT, .name = "nat.PortBinding", .fields = port_binding_fields };
static const go_type_t t_port_bindings = { .kind = GO_SLICE, .name = "[]nat.PortBinding", .elem = &t_port_binding };
static const go_type_t t_port_map = { .kind = GO_MAP, .name = "nat.PortMap", .elem = &t_port_bindings };
static const go_type_t t_console_size = { .kind = GO_ARRAY, .name = "[2]uint", .elem = &t_uint, .len = 2 };
static const go_type_t t_network_mode = STR ("container.NetworkMode");
static const go_type_t t_cgroupns_mode = STR ("container.CgroupnsMode");
static const go_type_t t_ipc_mode = STR ("container.IpcMode");
static const go_type_t t_cgroup_spec = STR ("container.CgroupSpec");
static const go_type_t t_pid_mode = STR ("container.PidMode");
static const go_type_t t_uts_mode = STR ("container.UTSMode");
static const go_type_t t_userns_mode = STR ("container.UsernsMode");
static const go_type_t t_isolation = STR ("container.Isolation");

/* mount.Mount */
static const go_field_t bind_options_fields[] = {
  FIELD ("Propagation", (go_type_t) STR ("mount.Propagation")), FIELD ("NonRecursive", go_bool),
  FIELD ("CreateMountpoint", go_bool), FIELD ("ReadOnlyNonRecursive", go_bool),
  FIELD ("ReadOnlyForceRecursive", go_bool), END,
};
static const go_type_t t_bind_options = { .kind = GO_STRUCT, .name = "mount.BindOptions", .fields = bind_options_fields };
static const go_field_t driver_fields[] = { FIELD ("Name", go_string), FIELD ("Options", go_string_map), END };
static const go_type_t t_driver = { .kind = GO_STRUCT, .name = "mount.Driver", .fields = driver_fields };
static const go_field_t volume_options_fields[] = {
  FIELD ("NoCopy", go_bool), FIELD ("Labels", go_string_map), FIELD ("Subpath", go_string), PTR ("DriverConfig", t_driver),
  END,
};
static const go_type_t t_volume_options
    = { .kind = GO_STRUCT, .name = "mount.VolumeOptions", .fields = volume_options_fields };
static const go_field_t image_options_fields[] = { FIELD ("Subpath", go_string), END };
static const go_type_t t_image_options = { .kind = GO_STRUCT, .name = "mount.ImageOptions", .fields = image_options_fields };
static const go_field_t tmpfs_options_fields[] = {
  FIELD ("SizeBytes", go_int64), FIELD ("Mode", t_filemode), FIELD ("Options", t_string_slices), END,
};
static const go_type_t t_tmpfs_options = { .kind = GO_STRUCT, .name = "mount.TmpfsOptions", .fields = tmpfs_options_fields };
static const go_field_t mount_fields[] = {
  FIELD ("Type", (go_type_t) STR ("mount.Type")),
  FIELD ("Source", go_string),
  FIELD ("Target", go_string),
  FIELD ("ReadOnly", go_bool),
  FIELD ("Consistency", (go_type_t) STR ("mount.Consistency")),
  PTR ("BindOptions", t_bind_options),
  PTR ("VolumeOptions", t_volume_options),
  PTR ("ImageOptions", t_image_options),
  PTR ("TmpfsOptions", t_tmpfs_options),
  FIELD ("ClusterOptions", go_any),
  END,
};
static const go_type_t t_mount = { .kind = GO_STRUCT, .name = "mount.Mount", .fields = mount_fields };
static const go_type_t t_mounts = { .kind = GO_SLICE, .name = "[]mount.Mount", .elem = &t_mount };

static const go_field_t host_config_fields[] = {
  FIELD ("Binds", go_string_slice),
  FIELD ("ContainerIDFile", go_string),
  FIELD ("LogConfig", t_log_config),
  FIELD ("NetworkMode", t_network_mode),
  FIELD ("PortBindings", t_port_map),
  FIELD ("RestartPolicy", t_restart_policy),
  FIELD ("AutoRemove", go_bool),
  FIELD ("VolumeDriver", go_string),
  FIELD ("VolumesFrom", go_string_slice),
  FIELD ("ConsoleSize", t_console_size),
  FIELD ("Annotations", go_string_map),
  FIELD ("CapAdd", go_strslice),
  FIELD ("CapDrop", go_strslice),
  FIELD ("CgroupnsMode", t_cgroupns_mode),
  FIELD ("Dns", go_string_slice),
  FIELD ("DnsOptions", go_string_slice),
  FIELD ("DnsSearch", go_string_slice),
  FIELD ("ExtraHosts", go_string_slice),
  FIELD ("GroupAdd", go_string_slice),
  FIELD ("IpcMode", t_ipc_mode),
  FIELD ("Cgroup", t_cgroup_spec),
  FIELD ("Links", go_string_slice),
  FIELD ("OomScoreAdj", t_int),
  FIELD ("PidMode", t_pid_mode),
  FIELD ("Privileged", go_bool),
  FIELD ("PublishAllPorts", go_bool),
  FIELD ("ReadonlyRootfs", go_bool),
  FIELD ("SecurityOpt", go_string_slice),
  FIELD ("StorageOpt", go_string_map),
  FIELD ("Tmpfs", go_string_map),
  FIELD ("UTSMode", t_uts_mode),
  FIELD ("UsernsMode", t_userns_mode),
  FIELD ("ShmSize", go_int64),
  FIELD ("Sysctls", go_string_map),
  FIELD ("Runtime", go_string),
  FIELD ("Isolation", t_isolation),
  RESOURCES_FIELDS ("Resources"),
  FIELD ("Mounts", t_mounts),
  FIELD ("MaskedPaths", go_string_slice),
  FIELD ("ReadonlyPaths", go_string_slice),
  PTR ("Init", go_bool),
  END,
};
static const go_type_t t_host_config = { .kind = GO_STRUCT, .name = "container.HostConfig", .fields = host_config_fields };

/* ---- network.NetworkingConfig ---- */

static const go_field_t ipam_fields[] = {
  FIELD ("IPv4Address", go_string), FIELD ("IPv6Address", go_string), FIELD ("LinkLocalIPs", go_string_slice), END,
};
static const go_type_t t_ipam = { .kind = GO_STRUCT, .name = "network.EndpointIPAMConfig", .fields = ipam_fields };
static const go_field_t endpoint_fields[] = {
  PTR ("IPAMConfig", t_ipam),
  FIELD ("Links", go_string_slice),
  FIELD ("Aliases", go_string_slice),
  FIELD ("DriverOpts", go_string_map),
  FIELD ("GwPriority", t_int),
  FIELD ("NetworkID", go_string),
  FIELD ("EndpointID", go_string),
  FIELD ("Gateway", go_string),
  FIELD ("IPAddress", go_string),
  FIELD ("IPPrefixLen", t_int),
  FIELD ("IPv6Gateway", go_string),
  FIELD ("GlobalIPv6Address", go_string),
  FIELD ("GlobalIPv6PrefixLen", t_int),
  FIELD ("MacAddress", go_string),
  FIELD ("DNSNames", go_string_slice),
  END,
};
static const go_type_t t_endpoint = { .kind = GO_STRUCT, .name = "network.EndpointSettings", .fields = endpoint_fields };
static const go_type_t t_endpoints = {
  .kind = GO_MAP, .name = "map[string]*network.EndpointSettings", .elem = &t_endpoint, .elem_nullable = true,
};
static const go_field_t networking_fields[] = { FIELD ("EndpointsConfig", t_endpoints), END };
static const go_type_t t_networking
    = { .kind = GO_STRUCT, .name = "network.NetworkingConfig", .fields = networking_fields };

/* ---- request bodies ---- */

static const go_field_t create_request_fields[] = {
  CONFIG_FIELDS ("Config"),
  PTR ("HostConfig", t_host_config),
  PTR ("NetworkingConfig", t_networking),
  END,
};
static const go_type_t t_create_request
    = { .kind = GO_STRUCT, .name = "container.CreateRequest", .fields = create_request_fields };

static const go_field_t update_config_fields[] = {
  RESOURCES_FIELDS ("Resources"),
  FIELD ("RestartPolicy", t_restart_policy),
  END,
};
static const go_type_t t_update_config
    = { .kind = GO_STRUCT, .name = "container.UpdateConfig", .fields = update_config_fields };

/* dockerd: runconfig loadJSON and httputils.ReadJSON wrap decode errors as
 * "invalid JSON: <Go's text>" (400). */
static int
decode_body (json_t *body, const go_type_t *t, json_t **out, arca_error_t *err)
{
  if (go_decode (body, t, out, err) < 0)
    return arca_error_wrap (err, "invalid JSON");
  return 0;
}

int
options_decode_create (json_t *body, json_t **out, arca_error_t *err)
{
  return decode_body (body, &t_create_request, out, err);
}

int
options_decode_update (json_t *body, json_t **out, arca_error_t *err)
{
  return decode_body (body, &t_update_config, out, err);
}

// The DLPack ABI (dmlc/dlpack, version 1.0): the C structs and constants two libraries exchange to
// share a tensor's memory. Written from the public specification; only what tapegrad uses.
#pragma once
#include <cstdint>

namespace tapegrad::dlpack_abi {

constexpr uint32_t kMajorVersion = 1, kMinorVersion = 0;

constexpr int32_t kDLCPU = 1;  // DLDeviceType of host memory

// DLDataTypeCode
constexpr uint8_t kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBool = 6;

// DLManagedTensorVersioned::flags
constexpr uint64_t kFlagReadOnly = 1ull << 0;  // the consumer must not write the memory
constexpr uint64_t kFlagIsCopied = 1ull << 1;  // the producer made a copy for this export

struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};

struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};

struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null means compact row-major
  uint64_t byte_offset;
};

// The unversioned (pre-1.0) managed tensor, in a capsule named "dltensor".
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};

// The 1.0 managed tensor, in a capsule named "dltensor_versioned".
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};

// Capsule names: a consumer renames the capsule to the "used_" name when it takes ownership.
constexpr const char* kCapsule = "dltensor";
constexpr const char* kUsedCapsule = "used_dltensor";
constexpr const char* kVersionedCapsule = "dltensor_versioned";
constexpr const char* kUsedVersionedCapsule = "used_dltensor_versioned";

}  // namespace tapegrad::dlpack_abi

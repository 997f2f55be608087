// gRPC server reflection v1 (grpc.reflection.v1.ServerReflection), which
// grpcurl and current gRPC clients ask for before v1alpha; gRPC 1.51 serves
// only v1alpha. Answers from protobuf's generated descriptor pool (every
// .proto linked into the binary): files by name, by symbol and by extension,
// extension numbers of a type, and the list of services given at
// construction. serving/grpc_server.h registers it on every server.
//
// Thread-safe: each stream is handled on its own; the service list is fixed.
#ifndef MICROLEDGER_SERVING_REFLECTION_V1_H_
#define MICROLEDGER_SERVING_REFLECTION_V1_H_

#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace microledger {

class ReflectionV1Service final : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // `service_names`: the fully-qualified services list_services answers.
  explicit ReflectionV1Service(std::vector<std::string> service_names);

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>* stream)
      override;

 private:
  const std::vector<std::string> service_names_;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_REFLECTION_V1_H_

#include "serving/reflection_v1.h"

#include <set>
#include <utility>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace microledger {
namespace {

using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

void SetError(grpc::StatusCode code, const std::string& message,
              ServerReflectionResponse* response) {
  response->mutable_error_response()->set_error_code(static_cast<int32_t>(code));
  response->mutable_error_response()->set_error_message(message);
}

// `file` and every file it imports, directly or not, each once.
void AddFileAndDependencies(const FileDescriptor* file, std::set<std::string>* added,
                            ServerReflectionResponse* response) {
  if (!added->insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(
      response->mutable_file_descriptor_response()->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFileAndDependencies(file->dependency(i), added, response);
  }
}

void AnswerFile(const FileDescriptor* file, const std::string& not_found,
                ServerReflectionResponse* response) {
  if (file == nullptr) {
    SetError(grpc::StatusCode::NOT_FOUND, not_found, response);
    return;
  }
  std::set<std::string> added;
  AddFileAndDependencies(file, &added, response);
}

}  // namespace

ReflectionV1Service::ReflectionV1Service(std::vector<std::string> service_names)
    : service_names_(std::move(service_names)) {}

grpc::Status ReflectionV1Service::ServerReflectionInfo(
    grpc::ServerContext* /*context*/,
    grpc::ServerReaderWriter<ServerReflectionResponse, ServerReflectionRequest>* stream) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  ServerReflectionRequest request;
  while (stream->Read(&request)) {
    ServerReflectionResponse response;
    response.set_valid_host(request.host());
    *response.mutable_original_request() = request;
    switch (request.message_request_case()) {
      case ServerReflectionRequest::kFileByFilename:
        AnswerFile(pool->FindFileByName(request.file_by_filename()), "file not found",
                   &response);
        break;
      case ServerReflectionRequest::kFileContainingSymbol:
        AnswerFile(pool->FindFileContainingSymbol(request.file_containing_symbol()),
                   "symbol not found", &response);
        break;
      case ServerReflectionRequest::kFileContainingExtension: {
        const auto& wanted = request.file_containing_extension();
        const google::protobuf::Descriptor* type =
            pool->FindMessageTypeByName(wanted.containing_type());
        const google::protobuf::FieldDescriptor* extension =
            type == nullptr ? nullptr
                            : pool->FindExtensionByNumber(type, wanted.extension_number());
        AnswerFile(extension == nullptr ? nullptr : extension->file(), "extension not found",
                   &response);
        break;
      }
      case ServerReflectionRequest::kAllExtensionNumbersOfType: {
        const google::protobuf::Descriptor* type =
            pool->FindMessageTypeByName(request.all_extension_numbers_of_type());
        if (type == nullptr) {
          SetError(grpc::StatusCode::NOT_FOUND, "type not found", &response);
          break;
        }
        std::vector<const google::protobuf::FieldDescriptor*> extensions;
        pool->FindAllExtensions(type, &extensions);
        auto* numbers = response.mutable_all_extension_numbers_response();
        numbers->set_base_type_name(type->full_name());
        for (const auto* extension : extensions) numbers->add_extension_number(extension->number());
        break;
      }
      case ServerReflectionRequest::kListServices:
        for (const std::string& name : service_names_) {
          response.mutable_list_services_response()->add_service()->set_name(name);
        }
        break;
      case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
        SetError(grpc::StatusCode::UNIMPLEMENTED, "unknown or missing request", &response);
        break;
    }
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace microledger

#include "serving/grpc_server.h"

#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace microledger {
namespace {

constexpr auto kShutdownGrace = std::chrono::seconds(2);

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

absl::Status ServeUntilStopSignal(grpc::Service* service, const ServerConfig& config) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config.listen, config.credentials, &selected_port);
  builder.SetMaxReceiveMessageSize(config.max_receive_message_bytes);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  const bool unix_socket = absl::StartsWith(config.listen, "unix:");
  if (server == nullptr || (!unix_socket && selected_port == 0)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  const std::string address =
      unix_socket ? config.listen
                  : absl::StrCat(config.listen.substr(0, config.listen.rfind(':')), ":",
                                 selected_port);
  std::fprintf(stderr, "%s: listening on %s (%s)\n", config.program.c_str(),
               address.c_str(), config.detail.c_str());
  std::fflush(stderr);

  std::thread stopper([&server, &config] {
    const sigset_t signals = StopSignals();
    int signal = 0;
    sigwait(&signals, &signal);
    std::fprintf(stderr, "%s: signal %d, shutting down\n", config.program.c_str(), signal);
    server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  });
  server->Wait();
  stopper.join();
  return absl::OkStatus();
}

}  // namespace microledger

// The HostService read calls — GetLedger, GetCheckpoint, GetBlocks,
// GetInclusionProof, GetConsistencyProof, GetAttachment, Subscribe and
// GetLedgerEvidence — answered from a LedgerReader: the one implementation
// behind ml-host and ml-mirror, which forward these calls to it. GetLedger
// says the server holds blocks 1..head (a host; a mirror that holds less
// answers GetLedger itself, with FillLedgerResponse and its own ranges).
//
// gRPC callback API: no thread is held per call. Unary reads run inline on
// gRPC's callback thread. GetBlocks is a write reactor that reads blocks 64 at
// a time (one storage scan) and sends up to 256 per message; Subscribe is a
// write reactor that reads one block per completed write and, once caught up,
// registers a waiter on the ledger's committed head (LedgerReader::
// WatchLedger) instead of holding a thread. Subscribe streams are admitted by
// the server's AdmissionControl.
//
// Thread-safe; `reader` and `admission` must outlive the service and every
// call it started.
#ifndef MICROLEDGER_LEDGER_STORE_READ_SERVICE_H_
#define MICROLEDGER_LEDGER_STORE_READ_SERVICE_H_

#include "ledger_store/ledger_reader.h"
#include "ledger_store/read_metrics.h"
#include "microledger/v1/host.grpc.pb.h"
#include "serving/admission_control.h"
#include "serving/locator_announcer.h"

namespace microledger {

class LedgerReadService {
 public:
  // `announcer` (may be null) is told of each ledger read successfully by
  // GetLedger, GetCheckpoint and GetInclusionProof (the reads every reader
  // starts with), so an active ledger stays findable (SPEC §13).
  LedgerReadService(const LedgerReader* reader, AdmissionControl* admission,
                    LocatorAnnouncer* announcer = nullptr,
                    const ReadMetrics* metrics = nullptr)
      : reader_(reader), admission_(admission), announcer_(announcer), metrics_(metrics) {}

  grpc::ServerUnaryReactor* GetLedger(grpc::CallbackServerContext* context,
                                      const v1::GetLedgerRequest* request,
                                      v1::GetLedgerResponse* response) const;
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::GetCheckpointRequest* request,
                                          v1::GetCheckpointResponse* response) const;
  grpc::ServerWriteReactor<v1::GetBlocksResponse>* GetBlocks(
      grpc::CallbackServerContext* context, const v1::GetBlocksRequest* request) const;
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
      v1::GetInclusionProofResponse* response) const;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
      v1::GetConsistencyProofResponse* response) const;
  grpc::ServerUnaryReactor* GetAttachment(grpc::CallbackServerContext* context,
                                          const v1::GetAttachmentRequest* request,
                                          v1::GetAttachmentResponse* response) const;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) const;
  grpc::ServerUnaryReactor* GetLedgerEvidence(grpc::CallbackServerContext* context,
                                              const v1::GetLedgerEvidenceRequest* request,
                                              v1::GetLedgerEvidenceResponse* response) const;

  // The GetLedger response fields of `info` (everything but `held`).
  static void FillLedgerResponse(const LedgerInfo& info, v1::GetLedgerResponse* response);
  static void FillInclusionProofResponse(const InclusionProofResult& proof,
                                         v1::GetInclusionProofResponse* response);
  static void FillConsistencyProofResponse(const ConsistencyProofResult& proof,
                                           v1::GetConsistencyProofResponse* response);

 private:
  const LedgerReader* const reader_;
  AdmissionControl* const admission_;
  LocatorAnnouncer* const announcer_;
  const ReadMetrics* const metrics_;  // Null: reads are not counted.
};

// Finishes a unary call at once with `status`.
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      const grpc::Status& status);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_READ_SERVICE_H_

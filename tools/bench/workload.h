#ifndef KBO_TOOLS_BENCH_WORKLOAD_H_
#define KBO_TOOLS_BENCH_WORKLOAD_H_

// The attendance benchmark workload of ../shared/bench-workload.md: one
// deterministic stream of records shared by every benchmark (client writes,
// sync push/pull, the load generator). Header-only so tests can check the
// generator against the published checksum.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace kbo::bench {

struct AttendanceRecord {
  std::string id;
  std::string workshop_id;
  std::string participant_id;
  int day = 0;
  std::string status;
  std::string note;
  std::string recorded_at;
  std::string device_id;
};

class Mulberry32 {
 public:
  explicit Mulberry32(uint32_t seed) : s_(seed) {}
  uint32_t Next() {
    s_ += 0x6D2B79F5u;
    uint32_t z = s_;
    z = (z ^ (z >> 15)) * (z | 1u);
    z ^= z + (z ^ (z >> 7)) * (z | 61u);
    return z ^ (z >> 14);
  }
  std::string Uuid() {
    uint8_t b[16];
    for (int i = 0; i < 4; ++i) {
      const uint32_t v = Next();
      b[i * 4] = static_cast<uint8_t>(v >> 24);
      b[i * 4 + 1] = static_cast<uint8_t>(v >> 16);
      b[i * 4 + 2] = static_cast<uint8_t>(v >> 8);
      b[i * 4 + 3] = static_cast<uint8_t>(v);
    }
    b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
    char out[37];
    std::snprintf(out, sizeof out,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                  b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
                  b[11], b[12], b[13], b[14], b[15]);
    return out;
  }

 private:
  uint32_t s_;
};

inline const char* const kNotes[8] = {
    "มาสาย เนื่องจากฝนตกหนักและรถติดมาก",
    "Arrived on time, signed the paper sheet",
    "ลาป่วย มีใบรับรองแพทย์แนบมาด้วยแล้ว",
    "Left early for a family emergency today",
    "เข้าร่วมครบทั้งวัน ส่งงานกลุ่มเรียบร้อย",
    "Joined late after the bus broke down",
    "ขาดเรียนโดยไม่แจ้งล่วงหน้า ติดต่อไม่ได้",
    "Present; recorded offline on the tablet",
};

struct Workload {
  std::vector<std::string> workshops;  // 100 workshop ids
  std::vector<AttendanceRecord> records;
};

// N records from SEED, exactly as bench-workload.md specifies.
inline Workload GenerateWorkload(size_t n, uint32_t seed = 42) {
  Workload w;
  Mulberry32 rng(seed);
  for (int i = 0; i < 100; ++i) w.workshops.push_back(rng.Uuid());
  w.records.reserve(n);
  std::string participant, workshop;
  for (size_t i = 0; i < n; ++i) {
    if (i % 5 == 0) {
      participant = rng.Uuid();
      workshop = w.workshops[rng.Next() % 100];
    }
    AttendanceRecord r;
    r.id = rng.Uuid();
    r.workshop_id = workshop;
    r.participant_id = participant;
    r.day = static_cast<int>(i % 5) + 1;
    const uint32_t p = rng.Next() % 100;
    r.status = p < 80 ? "present" : p < 90 ? "absent" : "late";
    r.note = kNotes[rng.Next() % 8];
    // 2025-01-06T08:00:00Z + (day - 1) days + offset seconds.
    const uint32_t offset = rng.Next() % 7200;
    const int secs = 8 * 3600 + static_cast<int>(offset);
    char at[32];
    std::snprintf(at, sizeof at, "2025-01-%02dT%02d:%02d:%02dZ", 6 + r.day - 1,
                  secs / 3600, secs / 60 % 60, secs % 60);
    r.recorded_at = at;
    char dev[16];
    std::snprintf(dev, sizeof dev, "tablet-%02u", rng.Next() % 20);
    r.device_id = dev;
    w.records.push_back(std::move(r));
  }
  return w;
}

// The TSV form whose SHA-256 the workload document publishes.
inline std::string ToTsv(const Workload& w) {
  std::string out;
  out.reserve(w.records.size() * 230);
  for (const AttendanceRecord& r : w.records) {
    out += r.id + '\t' + r.workshop_id + '\t' + r.participant_id + '\t' +
           std::to_string(r.day) + '\t' + r.status + '\t' + r.note + '\t' +
           r.recorded_at + '\t' + r.device_id + '\n';
  }
  return out;
}

// SHA-256 of the TSV for N = 100,000, SEED = 42.
inline constexpr const char* kWorkloadSha256 =
    "e51bdf0ddaca6c64f326970cc8b8d77584690ec96430ad30f57530ae11810bec";

}  // namespace kbo::bench

#endif  // KBO_TOOLS_BENCH_WORKLOAD_H_

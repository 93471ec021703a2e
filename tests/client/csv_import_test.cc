#include "client/csv_import.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "client/store.h"
#include "shared/labels.h"
#include "shared/sqlite/db.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using kbo::testing::TempDir;

std::unique_ptr<ClientStore> OpenStore(const TempDir& dir) {
  auto store = ClientStore::Open(dir.File("home"));
  REQUIRE(store.ok());
  return std::move(store).value();
}

size_t LiveRows(ClientStore& store, const char* entity) {
  auto rows = store.List(entity);
  REQUIRE(rows.ok());
  return rows->size();
}

std::string Text(const StoredRow& row, const char* column) {
  auto it = row.values.find(column);
  REQUIRE(it != row.values.end());
  return it->second.ToDisplay();
}

// A producer, a workshop and one participant enrolled in it.
struct Course {
  Uuid producer, workshop, enrolment;
};
Course RecordCourse(ClientStore& store) {
  auto p = store.Record("producer", {{"kind", Value::Text("group")},
                                     {"name", Value::Text("กลุ่มหนึ่ง")},
                                     {"district_code", Value::Text("5011")}});
  REQUIRE(p.ok());
  auto w = store.Record("workshop", {{"title", Value::Text("อบรม KBO")},
                                     {"fiscal_year", Value::Integer(2567)},
                                     {"district_code", Value::Text("5011")},
                                     {"start_date", Value::Text("2024-03-04")}});
  REQUIRE(w.ok());
  auto e = store.Record("enrolment", {{"workshop_id", Value::Text(w->ToString())},
                                      {"producer_id", Value::Text(p->ToString())},
                                      {"participant_name", Value::Text("นางสมศรี")}});
  REQUIRE(e.ok());
  return {*p, *w, *e};
}

TEST_CASE("ResolveColumnName: catalogue names and flag spellings",
          "[csv_import]") {
  const Entity& producer = *FindEntity("producer");
  CHECK(ResolveColumnName(producer, "district_code")->name == "district_code");
  CHECK(ResolveColumnName(producer, " District ")->name == "district_code");
  CHECK(ResolveColumnName(producer, "stars")->name == "otop_stars");
  CHECK(ResolveColumnName(producer, "cluster-brand")->name == "cluster_brand");
  CHECK(ResolveColumnName(producer, "Cluster Brand")->name == "cluster_brand");
  CHECK(ResolveColumnName(producer, "producer") ==
        nullptr);  // not a producer column
  CHECK(ResolveColumnName(producer, "id") == nullptr);
  CHECK(ResolveColumnName(producer, "deleted") == nullptr);
  CHECK(ResolveColumnName(producer, "colour") == nullptr);

  const Entity& enrolment = *FindEntity("enrolment");
  CHECK(ResolveColumnName(enrolment, "workshop")->name == "workshop_id");
  CHECK(ResolveColumnName(enrolment, "producer")->name == "producer_id");
  CHECK(ResolveColumnName(enrolment, "participant")->name ==
        "participant_name");
  CHECK(ResolveColumnName(*FindEntity("visit"), "at")->name == "visited_at");
  CHECK(ResolveColumnName(*FindEntity("workshop"), "fiscal-year")->name ==
        "fiscal_year");
}

TEST_CASE("ResolveColumnName: Thai and English labels", "[csv_import][csv_thai]") {
  const Entity& producer = *FindEntity("producer");
  CHECK(ResolveColumnName(producer, "ประเภท")->name == "kind");
  CHECK(ResolveColumnName(producer, "ชื่อ")->name == "name");
  CHECK(ResolveColumnName(producer, " อำเภอ ")->name == "district_code");
  CHECK(ResolveColumnName(producer, "ตำบล")->name == "tambon");
  CHECK(ResolveColumnName(producer, "ประเภทผลิตภัณฑ์ OTOP")->name == "category");
  CHECK(ResolveColumnName(producer, "ประเภทผลิตภัณฑ์  otop")->name == "category");
  CHECK(ResolveColumnName(producer, "ระดับดาว OTOP")->name == "otop_stars");
  CHECK(ResolveColumnName(producer, "OTOP stars")->name == "otop_stars");
  CHECK(ResolveColumnName(producer, "Tambon (sub-district)")->name == "tambon");
  CHECK(ResolveColumnName(producer, "tambon")->name == "tambon");
  CHECK(ResolveColumnName(producer, "ผลิตภัณฑ์") == nullptr);  // no product here
  CHECK(ResolveColumnName(producer, "สีประจำกลุ่ม") == nullptr);
  const Entity& workshop = *FindEntity("workshop");
  CHECK(ResolveColumnName(workshop, "ปีงบประมาณ (พ.ศ.)")->name == "fiscal_year");
  CHECK(ResolveColumnName(workshop, "ปีงบประมาณ")->name == "fiscal_year");
  CHECK(ResolveColumnName(workshop, "ชื่อการอบรม")->name == "title");
  const Entity& product = *FindEntity("product");
  CHECK(ResolveColumnName(product, "ชื่อผลิตภัณฑ์")->name == "name");
  CHECK(ResolveColumnName(product, "ชื่อ")->name == "name");
  const Entity& enrolment = *FindEntity("enrolment");
  CHECK(ResolveColumnName(enrolment, "การอบรม")->name == "workshop_id");
  CHECK(ResolveColumnName(enrolment, "ผู้ผลิต")->name == "producer_id");
  CHECK(ResolveColumnName(enrolment, "ชื่อผู้เข้าอบรม")->name == "participant_name");
  CHECK(ResolveColumnName(enrolment, "participant")->name == "participant_name");
  // A visit's notes under their older header (the Save button's word).
  CHECK(ResolveColumnName(*FindEntity("visit"), "บันทึก")->name == "notes");
  // An attendance export's English header of its enrolment: an alias of
  // another entity's column once hid the label.
  const Entity& attendance = *FindEntity("attendance");
  CHECK(ResolveColumnName(attendance, "Participant")->name == "enrolment_id");
  CHECK(ResolveColumnName(attendance, "participant")->name == "enrolment_id");
}

TEST_CASE("ResolveColumnName: every column's Thai and English label, as an export "
          "heads it, names that column",
          "[csv_import][csv_thai]") {
  for (const Entity& e : Catalogue()) {
    for (const Column& c : e.columns) {
      for (Lang lang : {Lang::kTh, Lang::kEn}) {
        const std::string label = ColumnLabel(lang, e.name, c.name);
        INFO(e.name << "." << c.name << " headed '" << label << "'");
        const Column* found = ResolveColumnName(e, label);
        REQUIRE(found != nullptr);
        CHECK(found->name == c.name);
      }
    }
  }
}

TEST_CASE("EnumCodeOfName: OTOP categories and kinds by their Thai or English names",
          "[csv_import][csv_thai]") {
  const Entity& producer = *FindEntity("producer");
  const Column& category = *producer.FindColumn("category");
  CHECK(EnumCodeOfName(category, "อาหาร") == "food");
  CHECK(EnumCodeOfName(category, "เครื่องดื่ม") == "beverage");
  CHECK(EnumCodeOfName(category, "ผ้า เครื่องแต่งกาย") == "textile");
  CHECK(EnumCodeOfName(category, "ผ้า,เครื่องแต่งกาย") == "textile");
  CHECK(EnumCodeOfName(category, "ของใช้ ของตกแต่ง ของที่ระลึก") == "household_decor_souvenir");
  CHECK(EnumCodeOfName(category, "สมุนไพรที่ไม่ใช่อาหาร") == "herbal_nonfood");
  CHECK(EnumCodeOfName(category, "Textiles and clothing") == "textile");
  CHECK(EnumCodeOfName(category, "FOOD") == "food");
  CHECK(EnumCodeOfName(category, "food") == "food");
  CHECK(EnumCodeOfName(category, "ผ้าไหม") == "ผ้าไหม");  // unknown: unchanged
  CHECK(EnumCodeOfName(*producer.FindColumn("kind"), "กลุ่มผู้ผลิต") == "group");
  CHECK(EnumCodeOfName(*producer.FindColumn("kind"), "ผู้ประกอบการ") == "entrepreneur");
  CHECK(EnumCodeOfName(*producer.FindColumn("name"), "อาหาร") == "อาหาร");
}

TEST_CASE("ImportCsv: a file headed in Thai with Thai category names",
          "[csv_import][csv_thai]") {
  TempDir dir;
  auto store = OpenStore(dir);
  // As Excel saves "CSV UTF-8": a BOM, CRLF, the header in Thai labels.
  const std::string csv =
      "\xEF\xBB\xBFประเภท,ชื่อ,อำเภอ,ตำบล,ประเภทผลิตภัณฑ์ OTOP,ระดับดาว OTOP\r\n"
      "กลุ่มผู้ผลิต,กลุ่มจักสานบ้านโป่ง,พร้าว,บ้านโป่ง,ของใช้ ของตกแต่ง ของที่ระลึก,2\r\n"
      "ผู้ประกอบการ,นายสมชาย ทองดี,Phrao,เวียง,อาหาร,\r\n"
      "group,กลุ่มทอผ้าป่าตุ้ม,5011,ป่าตุ้ม,textile,3\r\n"
      "entrepreneur,น้ำพริกแม่แวน,5011,แม่แวน,Beverage,\r\n";
  auto ids = ImportCsv(*store, "producer", csv);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 4);
  auto rows = store->List("producer");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 4);
  const StoredRow& first = (*rows)[0];
  CHECK(Text(first, "kind") == "group");
  CHECK(Text(first, "name") == "กลุ่มจักสานบ้านโป่ง");  // Thai round-trips
  CHECK(Text(first, "district_code") == "5011");
  CHECK(Text(first, "tambon") == "บ้านโป่ง");
  CHECK(Text(first, "category") == "household_decor_souvenir");
  CHECK(Text(first, "otop_stars") == "2");
  CHECK(Text((*rows)[1], "kind") == "entrepreneur");
  CHECK(Text((*rows)[1], "category") == "food");
  CHECK(Text((*rows)[2], "category") == "textile");
  CHECK(Text((*rows)[3], "category") == "beverage");
}

TEST_CASE("ImportCsv: phone numbers as a spreadsheet leaves them: a dropped 0 "
          "given back and counted, Excel's text form unwrapped, a shortened "
          "one refused with its line",
          "[csv_import][csv_thai]") {
  CHECK(PhoneFromSpreadsheetCell("812345671").text == "0812345671");
  CHECK(PhoneFromSpreadsheetCell("812345671").zero_restored);
  CHECK(PhoneFromSpreadsheetCell("53123456").text == "053123456");
  CHECK(PhoneFromSpreadsheetCell("=\"0812345670\"").text == "0812345670");
  CHECK(PhoneFromSpreadsheetCell("081-234-5678").text == "0812345678");
  CHECK_FALSE(PhoneFromSpreadsheetCell("0812345678").zero_restored);
  CHECK(PhoneFromSpreadsheetCell("+66812345678").text == "+66812345678");
  CHECK(PhoneFromSpreadsheetCell("1300").text == "1300");
  // Not the shape of a Thai number without its 0: left as recorded.
  CHECK(PhoneFromSpreadsheetCell("123456789").text == "123456789");
  CHECK(PhoneFromSpreadsheetCell("91234567").text == "91234567");
  CHECK(PhoneFromSpreadsheetCell("8.12E+08").digits_lost);
  CHECK(PhoneFromSpreadsheetCell("8.12345678e8").digits_lost);
  CHECK_FALSE(PhoneFromSpreadsheetCell("08 1234 5678").digits_lost);

  TempDir dir;
  auto store = OpenStore(dir);
  ImportSkipped skipped;
  auto ids = ImportCsv(*store, "producer",
                       "kind,name,district,phone\r\n"
                       "group,กลุ่มหนึ่ง,5011,812345671\r\n"
                       "group,กลุ่มสอง,5011,\"=\"\"0812345670\"\"\"\r\n"
                       "group,กลุ่มสาม,5011,0812345672\r\n",
                       &skipped);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  CHECK(skipped.zero_restored == 1);
  auto rows = store->List("producer");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK(Text((*rows)[0], "phone") == "0812345671");
  CHECK(Text((*rows)[1], "phone") == "0812345670");
  CHECK(Text((*rows)[2], "phone") == "0812345672");

  // A line break in a quoted cell as Excel on Windows writes it (CR LF) is
  // stored as the device's own (LF); it was kept with its CR.
  auto village = ImportCsv(*store, "producer",
                           "kind,name,district,village\r\n"
                           "group,กลุ่มหก,5011,\"บ้านป่าแป๋\r\nหมู่ 5\"\r\n");
  REQUIRE(village.ok());
  auto six = store->Show("producer", village->front());
  REQUIRE(six.ok());
  CHECK(Text(*six, "village") == "บ้านป่าแป๋\nหมู่ 5");

  // Digits gone: the whole file refused, naming the line; nothing written.
  auto lost = ImportCsv(*store, "producer",
                        "kind,name,district,phone\r\n"
                        "group,กลุ่มสี่,5011,0812345673\r\n"
                        "group,กลุ่มห้า,5011,8.12E+08\r\n");
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.status().code() == Code::kInvalidArgument);
  CHECK_THAT(lost.status().message(), Catch::Contains("line 3") &&
                                          Catch::Contains("8.12E+08") &&
                                          Catch::Contains("digits are lost"));
  CHECK(store->List("producer")->size() == 4);
}

TEST_CASE("ImportCsv: an export's report sheet is named as one, with the file "
          "to import instead",
          "[csv_import][csv_thai]") {
  TempDir dir;
  auto store = OpenStore(dir);
  auto grid = ImportCsv(*store, "attendance",
                        "\xEF\xBB\xBFชื่อการอบรม,ปีงบประมาณ,อำเภอ,วันเริ่ม,ชื่อผู้เข้าอบรม,"
                        "ผู้ผลิต,วันที่ 1,วันที่ 2,จำนวนวันที่มา\r\n"
                        "อบรม KBO,2567,พร้าว,4 มี.ค. 2567,นางสมศรี,กลุ่มทอผ้า,มา,มา,2\r\n");
  REQUIRE_FALSE(grid.ok());
  CHECK(grid.status().code() == Code::kInvalidArgument);
  // It said "unknown column 'ชื่อการอบรม'".
  CHECK_THAT(grid.status().message(), Catch::Contains("attendance grid") &&
                                          Catch::Contains("attendance.csv"));
  auto ranking = ImportCsv(*store, "contest_score",
                           "Contest,Rank,Name,Producer,District,Mean total,Judges\r\n"
                           "KBO CM 2567,1,ผ้าทอ,กลุ่มทอผ้า,Phrao,88,3\r\n");
  REQUIRE_FALSE(ranking.ok());
  CHECK_THAT(ranking.status().message(), Catch::Contains("contest ranking") &&
                                             Catch::Contains("contest_score.csv"));
}

TEST_CASE("ImportCsv: an unknown Thai header or category imports nothing and names line and column",
          "[csv_import][csv_thai]") {
  TempDir dir;
  auto store = OpenStore(dir);
  SECTION("unknown category") {
    auto ids = ImportCsv(
        *store, "producer",
        "ประเภท,ชื่อ,อำเภอ,ประเภทผลิตภัณฑ์ OTOP\n"
        "กลุ่มผู้ผลิต,กลุ่มหนึ่ง,พร้าว,อาหาร\n"
        "กลุ่มผู้ผลิต,กลุ่มสอง,พร้าว,ผ้าไหม\n");
    REQUIRE_FALSE(ids.ok());
    CHECK(ids.status().code() == Code::kInvalidArgument);
    const std::string& m = ids.status().message();
    CHECK_THAT(m, Catch::StartsWith("line 3: category 'ผ้าไหม'"));
    CHECK_THAT(m, Catch::Contains("column 4, 'ประเภทผลิตภัณฑ์ OTOP'"));
    CHECK_THAT(m, Catch::Contains("food (อาหาร)"));
    REQUIRE(ids.status().TextField(field::kField) != nullptr);
    CHECK(*ids.status().TextField(field::kField) == "category");
  }
  SECTION("unknown header") {
    auto ids = ImportCsv(*store, "producer",
                         "ประเภท,ชื่อ,อำเภอ,สีประจำกลุ่ม\n"
                         "กลุ่มผู้ผลิต,กลุ่มหนึ่ง,พร้าว,แดง\n");
    REQUIRE_FALSE(ids.ok());
    CHECK(ids.status().code() == Code::kInvalidArgument);
    const std::string& m = ids.status().message();
    CHECK_THAT(m, Catch::StartsWith("line 1: unknown column 'สีประจำกลุ่ม' (column 4"));
    CHECK_THAT(m, Catch::Contains("category (ประเภทผลิตภัณฑ์ OTOP)"));
  }
  SECTION("a bad value under a Thai header names that header") {
    auto ids = ImportCsv(*store, "producer",
                         "ประเภท,ชื่อ,อำเภอ,ระดับดาว OTOP\n"
                         "กลุ่มผู้ผลิต,กลุ่มหนึ่ง,พร้าว,9\n");
    REQUIRE_FALSE(ids.ok());
    CHECK_THAT(ids.status().message(), Catch::StartsWith("line 2: otop_stars must be from 0 to 5"));
    CHECK_THAT(ids.status().message(), Catch::Contains("(column 4, 'ระดับดาว OTOP')"));
  }
  SECTION("two headers naming one column") {
    auto ids = ImportCsv(*store, "producer", "kind,ชื่อ,name,district\n");
    REQUIRE_FALSE(ids.ok());
    CHECK_THAT(ids.status().message(), Catch::Contains("both name name"));
  }
  CHECK(LiveRows(*store, "producer") == 0);
}

TEST_CASE("ImportCsv: enrolments headed in Thai", "[csv_import][csv_thai]") {
  TempDir dir;
  auto store = OpenStore(dir);
  auto p = store->Record("producer", {{"kind", Value::Text("group")},
                                      {"name", Value::Text("กลุ่มทอผ้าบ้านป่าแป๋")},
                                      {"district_code", Value::Text("5011")}});
  REQUIRE(p.ok());
  auto w = store->Record("workshop", {{"title", Value::Text("อบรม KBO")},
                                      {"fiscal_year", Value::Integer(2567)},
                                      {"district_code", Value::Text("5011")},
                                      {"start_date", Value::Text("2024-03-04")}});
  REQUIRE(w.ok());
  auto ids = ImportCsv(*store, "enrolment",
                       "การอบรม,ผู้ผลิต,ชื่อผู้เข้าอบรม\n" + w->ToString() + "," +
                           p->ToString() + ",นางสมศรี ใจดี\n");
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  auto rows = store->List("enrolment");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK(Text((*rows)[0], "participant_name") == "นางสมศรี ใจดี");
}

TEST_CASE("ImportCsv: one participant on two lines of a sheet: taken once "
          "when the lines agree, refused naming both lines when they differ",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const Course c = RecordCourse(*store);
  const std::string lead = c.workshop.ToString() + "," + c.producer.ToString() + ",";
  ImportSkipped skipped;
  auto same = ImportCsv(*store, "enrolment",
                        "workshop,producer,participant\n" + lead + "นางจันทร์ ดี\n" +
                            lead + "นางจันทร์ ดี\n",
                        &skipped);
  INFO(same.status().ToString());
  REQUIRE(same.ok());
  CHECK(same->size() == 1);
  CHECK(skipped.repeated == 1);
  auto two = ImportCsv(*store, "enrolment",
                       "workshop,producer,participant\n" + lead + "มะลิ ดอกไม้\n" +
                           lead + "นางสาวมะลิ ดอกไม้\n");
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().code() == Code::kInvalidArgument);
  CHECK(two.status().message().rfind("line 3: participant_name 'นางสาวมะลิ "
                                     "ดอกไม้' is on line 2 too",
                                     0) == 0);
  // No id of a row never written is named.
  CHECK(two.status().message().find("(enrolment ") == std::string::npos);
  CHECK(LiveRows(*store, "enrolment") == 2);  // นางสมศรี and นางจันทร์
}

TEST_CASE("ImportCsv: empty unnamed columns a spreadsheet leaves at the end "
          "are not columns, and one with something in it is refused",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  auto ids = ImportCsv(*store, "producer",
                       "kind,name,district,,\r\ngroup,กลุ่มหนึ่ง,5011,,\r\n"
                       "group,กลุ่มสอง,5011, ,\r\n");
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  CHECK(ids->size() == 2);
  auto filled = ImportCsv(*store, "producer",
                          "kind,name,district,\r\ngroup,กลุ่มสาม,5011,x\r\n");
  REQUIRE_FALSE(filled.ok());
  CHECK(filled.status().message().find(
            "column 4 of the header has no name (name it, or delete the column") !=
        std::string::npos);
  CHECK(LiveRows(*store, "producer") == 2);
}

TEST_CASE("ImportCsv: producers with a BOM, Thai names and typed forms",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const std::string csv =
      "\xEF\xBB\xBF"
      "kind,name,district,stars,members,tambon\r\n"
      "group,กลุ่มทอผ้าบ้านป่าแป๋,พร้าว,๓,12,เวียง\r\n"
      "Entrepreneur,\"นายสมชาย, ทองดี\",Phrao,,,\r\n"
      ",,,,,\r\n";  // a spreadsheet's empty trailing row
  auto ids = ImportCsv(*store, "producer", csv);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 2);
  auto rows = store->List("producer");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].id == (*ids)[0]);
  CHECK(Text((*rows)[0], "name") == "กลุ่มทอผ้าบ้านป่าแป๋");
  CHECK(Text((*rows)[0], "district_code") == "5011");
  CHECK((*rows)[0].values.at("otop_stars") == Value::Integer(3));  // Thai digit
  CHECK(Text((*rows)[0], "tambon") == "เวียง");
  CHECK(Text((*rows)[1], "kind") == "entrepreneur");
  CHECK(Text((*rows)[1], "name") == "นายสมชาย, ทองดี");
  CHECK((*rows)[1].values.at("otop_stars").is_null());
}

TEST_CASE("ImportCsv: a register imported again adds no producer twice, and one "
          "it says differently is refused, naming the line",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const std::string csv =
      "kind,name,district,phone\r\n"
      "group,กลุ่มจักสานบ้านโป่ง,พร้าว,0812345678\r\n"
      "group,กลุ่มทอผ้าบ้านป่าแป๋,พร้าว,\r\n";
  ImportSkipped skipped;
  auto first = ImportCsv(*store, "producer", csv, &skipped);
  REQUIRE(first.ok());
  CHECK(first->size() == 2);

  // The same sheet again, with spacing and a third group added.
  auto again = ImportCsv(*store, "producer",
                         csv + "group,กลุ่ม จักสานบ้านโป่ง ,พร้าว,\r\n"
                               "entrepreneur,นางคำ ใจดี,พร้าว,\r\n",
                         &skipped);
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(again->size() == 1);
  CHECK(skipped.already_registered == 3);
  CHECK(LiveRows(*store, "producer") == 3);

  // A phone the register now says differently: refused, nothing written.
  auto changed = ImportCsv(*store, "producer",
                           "kind,name,district,phone\r\n"
                           "entrepreneur,ใหม่ คนหนึ่ง,5011,\r\n"
                           "group,กลุ่มจักสานบ้านโป่ง,5011,0899999999\r\n",
                           &skipped);
  REQUIRE_FALSE(changed.ok());
  CHECK(changed.status().code() == Code::kInvalidArgument);
  const std::string said = changed.status().message();
  CHECK(said.rfind("line 3: ", 0) == 0);
  CHECK(said.find("registered on this device already") != std::string::npos);
  CHECK(said.find("phone '0899999999' in the file, '0812345678' on this device") !=
        std::string::npos);
  CHECK(said.find("kbo edit producer " + (*first)[0].ToString()) != std::string::npos);
  CHECK(LiveRows(*store, "producer") == 3);

  // The same group twice in one new sheet: once if the lines agree, its
  // name spelled with other spacing or case or not.
  auto twice = ImportCsv(*store, "producer",
                         "kind,name,district\r\n"
                         "group,กลุ่มเครื่องเงิน,5011\r\n"
                         "group,กลุ่มเครื่องเงิน,5011\r\n"
                         "group,กลุ่ม เครื่องเงิน,5011\r\n"
                         "group,Doi Craft,5011\r\n"
                         "group,DOI  craft,5011\r\n",
                         &skipped);
  INFO(twice.status().ToString());
  REQUIRE(twice.ok());
  CHECK(twice->size() == 2);
  CHECK(skipped.repeated == 3);
  // Another district's group of the same name is another producer.
  auto fang = ImportCsv(*store, "producer",
                        "kind,name,district\r\ngroup,กลุ่มเครื่องเงิน,5009\r\n");
  REQUIRE(fang.ok());
  CHECK(fang->size() == 1);
  CHECK(LiveRows(*store, "producer") == 6);
}

TEST_CASE("ImportCsv: one bad row refuses the file, naming its line",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  struct Case {
    const char* what;
    std::string csv;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"unknown district",
       "kind,name,district\ngroup,ก,5011\ngroup,ข,5011\ngroup,ค,5099\n",
       "line 4: district_code '5099' is not a Chiang Mai district"},
      {"missing required value",
       "kind,name,district\ngroup,ก,5011\ngroup,,5011\n",
       "line 3: name is required"},
      {"blank line before the bad row",
       "kind,name,district\n\ngroup,ก,5011\ngroup,ข,5011\ngroup,ค,5011,extra\n",
       "line 5: expected 3 fields"},
      {"stars out of range", "kind,name,district,stars\ngroup,ก,5011,7\n",
       "line 2: otop_stars must be from 0 to 5"},
      {"unknown column", "kind,name,district,colour\ngroup,ก,5011,red\n",
       "line 1: unknown column 'colour'"},
      {"repeated column", "kind,name,district,district_code\n",
       "both name district_code"},
      {"two id columns", "id,รหัส,kind,name,district\n",
       "columns 'id' and 'รหัส' both name the id"},
      {"an id that is not a uuid",
       "id,kind,name,district\nP-0001,group,ก,5011\n",
       "line 2: id 'P-0001' (column 1, 'id') is not an id as kbo writes them"},
      {"the nil uuid",
       "id,kind,name,district\n00000000-0000-0000-0000-000000000000,group,ก,"
       "5011\n",
       "line 2: id '00000000-0000-0000-0000-000000000000'"},
      {"one id on two lines",
       "รหัส,kind,name,district\n"
       "1b4e28ba-2fa1-41d2-883f-0016d3cca427,group,ก,5011\n"
       "1B4E28BA-2FA1-41D2-883F-0016D3CCA427,group,ข,5011\n",
       "line 3: id 1b4e28ba-2fa1-41d2-883f-0016d3cca427 is on line 2 too"},
      {"a deleted cell that says nothing",
       "kind,name,district,deleted\ngroup,ก,5011,maybe\n",
       "line 2: deleted 'maybe' (column 4, 'deleted') is not one of"},
      {"empty header cell", "kind,,district\n", "column 2 of the header"},
      {"unterminated quote", "kind,name,district\ngroup,\"ก,5011\n", "line 2"},
      {"not UTF-8", "kind,name,district\ngroup,\xff,5011\n", "line 2"},
      {"empty file", "", "empty"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    auto ids = ImportCsv(*store, "producer", c.csv);
    REQUIRE_FALSE(ids.ok());
    CHECK(ids.status().code() == Code::kInvalidArgument);
    CHECK_THAT(ids.status().message(), Catch::Contains(c.mentions));
  }
  CHECK(LiveRows(*store, "producer") == 0);
}

TEST_CASE("ImportCsv: a date a sheet writes in no form it reads says the "
          "forms it does, the office's too",
          "[csv_import][csv_thai]") {
  TempDir dir;
  auto store = OpenStore(dir);
  // "5 มกราคม 2570": the month written out, a form not read. The message
  // named only YYYY-MM-DD, though "4 มี.ค. 2567" imports.
  auto ids = ImportCsv(*store, "workshop",
                       "title,fiscal_year,district,start_date\n"
                       "อบรม KBO พร้าว,2570,5011,5 มกราคม 2570\n");
  REQUIRE_FALSE(ids.ok());
  CHECK_THAT(ids.status().message(), Catch::Contains("YYYY-MM-DD"));
  CHECK_THAT(ids.status().message(), Catch::Contains("4 มี.ค. 2567"));
  CHECK(LiveRows(*store, "workshop") == 0);
}

TEST_CASE("ImportCsv: a new photo row for a picture not on the device is "
          "refused, and the office's photo rows, with ids, are taken",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const std::string producer =
      store->Record("producer", {{"kind", Value::Text("group")},
                                 {"name", Value::Text("กลุ่มทอผ้า")},
                                 {"district_code", Value::Text("5011")}})
          ->ToString();
  const std::string sha(64, 'a');
  const std::string row = "producer," + producer + "," + sha +
                          ",12345,image/jpeg,4000,3000,ภาพที่ไม่มีอยู่จริง\n";
  // Once taken and synced: the server listed a photo nobody could upload.
  auto fake = ImportCsv(*store, "photo",
                        "subject_type,subject_id,sha256,bytes,mime,width,height,"
                        "caption\n" + row);
  REQUIRE_FALSE(fake.ok());
  CHECK_THAT(fake.status().message(), Catch::Contains("line 2: no photo with sha256"));
  CHECK(LiveRows(*store, "photo") == 0);
  // With its id (a row of the office's export, its picture on the server).
  auto office = ImportCsv(*store, "photo",
                          "id,subject_type,subject_id,sha256,bytes,mime,width,"
                          "height,caption\n"
                          "1b4e28ba-2fa1-41d2-883f-0016d3cca427," + row);
  INFO(office.status().ToString());
  REQUIRE(office.ok());
  CHECK(LiveRows(*store, "photo") == 1);
}

TEST_CASE("ImportCsv: enrolments, a row naming a missing workshop is not found",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  RowValues producer;
  producer["kind"] = Value::Text("group");
  producer["name"] = Value::Text("กลุ่มทอผ้าบ้านป่าแป๋");
  producer["district_code"] = Value::Text("5011");
  auto p = store->Record("producer", producer);
  REQUIRE(p.ok());
  RowValues workshop;
  workshop["title"] = Value::Text("อบรม KBO");
  workshop["fiscal_year"] = Value::Integer(2567);
  workshop["district_code"] = Value::Text("5011");
  workshop["start_date"] = Value::Text("2024-03-04");
  auto w = store->Record("workshop", workshop);
  REQUIRE(w.ok());
  const std::string pid = p->ToString();
  const std::string wid = w->ToString();

  const std::string missing = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
  auto refused =
      ImportCsv(*store, "enrolment",
                "workshop,producer,participant\n" + wid + "," + pid +
                    ",นางสมศรี ใจดี\n" + missing + "," + pid + ",นายบุญมี\n");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kNotFound);
  CHECK_THAT(refused.status().message(), Catch::StartsWith("line 3: "));
  CHECK(LiveRows(*store, "enrolment") == 0);

  auto ids =
      ImportCsv(*store, "enrolment",
                "workshop_id,producer_id,participant_name\n" + wid + "," + pid +
                    ",นางสมศรี ใจดี\n" + wid + "," + pid + ",นายบุญมี\n");
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  CHECK(ids->size() == 2);
  auto rows = store->List("enrolment");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK(Text((*rows)[1], "participant_name") == "นายบุญมี");
  CHECK(Text((*rows)[1], "district_code") == "5011");  // from the workshop
}

// A producer sheet exactly as `kbo-server export csv` writes it for people
// (server/export_tables.cc: Thai labels, names for codes, the Thai phone
// grouping, formulas defused, the id last; tests/integration checks the
// real export against this import too).
std::string PeoplesProducerCsv(const std::string& id1, const std::string& id2) {
  return "\xEF\xBB\xBF"
         "ประเภท,ชื่อ,อำเภอ,ตำบล,หมู่บ้าน,ผู้ติดต่อ,โทรศัพท์,"
         "ประเภทผลิตภัณฑ์ OTOP,ระดับดาว OTOP,จำนวนสมาชิก,แบรนด์กลุ่ม,รหัส\r\n"
         "กลุ่มผู้ผลิต,กลุ่มทอผ้าบ้านป่าแป๋,พร้าว,เวียง,บ้านป่าแป๋,"
         "นางบัวคำ ใจมา,081-234-5678,ผ้า เครื่องแต่งกาย,3,18,'-ไม่มี-," +
         id1 +
         "\r\n"
         "ผู้ประกอบการ,นายสมชาย ทองดี,พร้าว,,,,053-123-456,อาหาร,,,," +
         id2 + "\r\n";
}

TEST_CASE("ImportCsv: a people's export imports as it is, ids kept, and "
          "importing it again adds nothing",
          "[csv_import][csv_thai][csv_export_round_trip]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const std::string id1 = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
  const std::string id2 = "6f1c3a4e-8b2d-4c5e-9f60-7a8b9c0d1e2f";
  const std::string csv = PeoplesProducerCsv(id1, id2);
  ImportSkipped skipped;
  auto ids = ImportCsv(*store, "producer", csv, &skipped);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 2);
  CHECK((*ids)[0].ToString() == id1);  // the rows keep their ids
  CHECK((*ids)[1].ToString() == id2);
  CHECK(skipped.total() == 0);
  auto first = store->Show("producer", *Uuid::Parse(id1));
  REQUIRE(first.ok());
  CHECK(Text(*first, "kind") == "group");
  CHECK(Text(*first, "name") == "กลุ่มทอผ้าบ้านป่าแป๋");
  CHECK(Text(*first, "district_code") == "5011");
  CHECK(Text(*first, "contact") == "นางบัวคำ ใจมา");
  CHECK(Text(*first, "phone") == "0812345678");        // as recorded
  CHECK(Text(*first, "category") == "textile");
  CHECK(Text(*first, "cluster_brand") == "-ไม่มี-");   // apostrophe undone
  CHECK(first->values.at("members") == Value::Integer(18));
  auto second = store->Show("producer", *Uuid::Parse(id2));
  REQUIRE(second.ok());
  CHECK(Text(*second, "phone") == "053123456");
  CHECK(second->values.at("tambon").is_null());

  // Again: both are here already, skipped, never written over (not even
  // after an edit here).
  REQUIRE(store->Edit("producer", *Uuid::Parse(id1),
                      {{"otop_stars", Value::Integer(4)}})
              .ok());
  auto again = ImportCsv(*store, "producer", csv, &skipped);
  REQUIRE(again.ok());
  CHECK(again->empty());
  CHECK(skipped.already_held == 2);
  CHECK(LiveRows(*store, "producer") == 2);
  CHECK(store->Show("producer", *Uuid::Parse(id1))->values.at("otop_stars") ==
        Value::Integer(4));
  // A deleted row is held too: not brought back.
  REQUIRE(store->Delete("producer", *Uuid::Parse(id2)).ok());
  auto after_delete = ImportCsv(*store, "producer", csv, &skipped);
  REQUIRE(after_delete.ok());
  CHECK(after_delete->empty());
  CHECK(skipped.already_held == 2);
  CHECK(store->Show("producer", *Uuid::Parse(id2))->deleted);

  // The same file in English, and an empty id cell: a new row.
  const std::string english =
      "Kind,Name,District,Tambon (sub-district),Phone,OTOP category,ID\n"
      "Producer group,กลุ่มจักสานบ้านโป่ง,Phrao,บ้านโป่ง,02-123-4567,Food,\n";
  auto fresh = ImportCsv(*store, "producer", english, &skipped);
  INFO(fresh.status().ToString());
  REQUIRE(fresh.ok());
  REQUIRE(fresh->size() == 1);
  CHECK((*fresh)[0].ToString() != id1);
  CHECK(Text(*store->Show("producer", (*fresh)[0]), "phone") == "021234567");
  CHECK(Text(*store->Show("producer", (*fresh)[0]), "tambon") == "บ้านโป่ง");
}

TEST_CASE("ImportCsv: a raw export's id and deleted columns",
          "[csv_import][csv_export_round_trip]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const std::string live = "0d7f5b3c-1a2b-4c3d-8e4f-5a6b7c8d9e0f";
  const std::string gone = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
  // As `export csv --raw` writes it: catalogue names, codes, the phone as
  // recorded, a formula defused, tombstones with deleted = 1.
  const std::string csv =
      "\xEF\xBB\xBF"
      "id,kind,name,district_code,tambon,village,contact,phone,category,"
      "otop_stars,members,cluster_brand,deleted\r\n" +
      live +
      ",group,\"'=HYPERLINK(\"\"http://evil\"\",\"\"กลุ่ม\"\")\",5011,,,,"
      "0812345678,food,2,,,0\r\n" +
      gone + ",entrepreneur,นายลบ แล้ว,5011,,,,,,,,,1\r\n";
  ImportSkipped skipped;
  auto ids = ImportCsv(*store, "producer", csv, &skipped);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 1);
  CHECK((*ids)[0].ToString() == live);
  CHECK(skipped.deleted == 1);
  CHECK(store->Show("producer", *Uuid::Parse(gone)).status().code() ==
        Code::kNotFound);
  auto row = store->Show("producer", (*ids)[0]);
  REQUIRE(row.ok());
  CHECK(Text(*row, "name") == "=HYPERLINK(\"http://evil\",\"กลุ่ม\")");
  CHECK(Text(*row, "phone") == "0812345678");
  // The Thai label of deleted, with its people's values, is understood too.
  auto thai = ImportCsv(*store, "producer",
                        "ประเภท,ชื่อ,อำเภอ,ลบแล้ว\n"
                        "กลุ่มผู้ผลิต,กลุ่มหนึ่ง,พร้าว,ใช่\n"
                        "กลุ่มผู้ผลิต,กลุ่มสอง,พร้าว,ไม่\n",
                        &skipped);
  REQUIRE(thai.ok());
  CHECK(thai->size() == 1);
  CHECK(skipped.deleted == 1);
}

TEST_CASE("ImportCsv: enrolments as a people's export writes them, with the "
          "workshop's title and the producer's name",
          "[csv_import][csv_thai][csv_export_round_trip]") {
  TempDir dir;
  auto store = OpenStore(dir);
  auto record = [&](const char* entity, RowValues row) {
    auto id = store->Record(entity, std::move(row));
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  };
  const Uuid p = record("producer", {{"kind", Value::Text("group")},
                                     {"name", Value::Text("กลุ่มทอผ้าบ้านป่าแป๋")},
                                     {"district_code", Value::Text("5011")}});
  const Uuid w = record("workshop", {{"title", Value::Text("อบรม KBO รุ่นที่ 1")},
                                     {"fiscal_year", Value::Integer(2567)},
                                     {"district_code", Value::Text("5011")},
                                     {"start_date", Value::Text("2024-03-04")}});
  const std::string e = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a";
  const std::string header = "การอบรม,ผู้ผลิต,ชื่อผู้เข้าอบรม,อำเภอ,รหัส\n";
  ImportSkipped skipped;
  auto ids = ImportCsv(*store, "enrolment",
                       header + "อบรม KBO รุ่นที่ 1,กลุ่มทอผ้าบ้านป่าแป๋,"
                                "นางสมศรี ใจดี,พร้าว," + e + "\n",
                       &skipped);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 1);
  CHECK((*ids)[0].ToString() == e);
  auto row = store->Show("enrolment", (*ids)[0]);
  REQUIRE(row.ok());
  CHECK(Text(*row, "workshop_id") == w.ToString());
  CHECK(Text(*row, "producer_id") == p.ToString());
  CHECK(Text(*row, "participant_name") == "นางสมศรี ใจดี");

  SECTION("a name no row here has is not found") {
    auto none = ImportCsv(*store, "enrolment",
                          header + "อบรม KBO รุ่นที่ 9,กลุ่มทอผ้าบ้านป่าแป๋,"
                                   "นายบุญมี แก้วมา,พร้าว,\n");
    CHECK(none.status().code() == Code::kNotFound);
    CHECK_THAT(none.status().message(),
               Catch::StartsWith("line 2: workshop_id 'อบรม KBO รุ่นที่ 9' is "
                                 "neither an id nor the title of a workshop") &&
                   Catch::Contains("(column 1, 'การอบรม')"));
  }
  SECTION("a name two rows have is refused, naming them") {
    record("producer", {{"kind", Value::Text("entrepreneur")},
                        {"name", Value::Text("กลุ่มทอผ้าบ้านป่าแป๋")},
                        {"district_code", Value::Text("5011")}});
    auto two = ImportCsv(*store, "enrolment",
                         header + "อบรม KBO รุ่นที่ 1,กลุ่มทอผ้าบ้านป่าแป๋,"
                                  "นายบุญมี แก้วมา,พร้าว,\n");
    CHECK(two.status().code() == Code::kInvalidArgument);
    CHECK_THAT(two.status().message(),
               Catch::Contains("is the name of 2 producers on this device") &&
                   Catch::Contains(p.ToString()));
  }
  CHECK(LiveRows(*store, "enrolment") == 1);
}

TEST_CASE("ImportCsv: an id of a row with a natural key must be its derived id",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const Course course = RecordCourse(*store);
  const Uuid* w = &course.workshop;
  const Uuid* e = &course.enrolment;
  RowValues mark{{"workshop_id", Value::Text(w->ToString())},
                 {"enrolment_id", Value::Text(e->ToString())},
                 {"day", Value::Integer(1)},
                 {"status", Value::Text("present")}};
  auto derived = DerivedRowId(*FindEntity("attendance"), mark);
  REQUIRE(derived.ok());
  const std::string tail = "," + w->ToString() + "," + e->ToString() + ",1,present\n";
  const std::string header = "id,workshop,enrolment,day,status\n";
  auto wrong = ImportCsv(*store, "attendance",
                         header + "1b4e28ba-2fa1-41d2-883f-0016d3cca427" + tail);
  CHECK(wrong.status().code() == Code::kInvalidArgument);
  CHECK_THAT(wrong.status().message(),
             Catch::StartsWith("line 2: id 1b4e28ba-2fa1-41d2-883f-0016d3cca427 "
                               "is not the id of this attendance"));
  auto right = ImportCsv(*store, "attendance", header + derived->ToString() + tail);
  INFO(right.status().ToString());
  REQUIRE(right.ok());
  CHECK(right->size() == 1);
  ImportSkipped skipped;
  auto again = ImportCsv(*store, "attendance", header + derived->ToString() + tail,
                         &skipped);
  REQUIRE(again.ok());
  CHECK(again->empty());
  CHECK(skipped.already_held == 1);
}

// How many change sets wait to be sent: what a write that writes nothing
// must leave as it was.
int64_t OutboxEntries(ClientStore& store) {
  Statement st(store.db(), "SELECT COUNT(*) FROM outbox");
  REQUIRE(st.Step());
  return st.ColumnInt(0);
}

TEST_CASE("ImportCsv: a roll-call sheet imported again keeps a colleague's note, "
          "writes nothing it holds already, and says what it changed",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const Course course = RecordCourse(*store);
  const Uuid* w = &course.workshop;
  const Uuid* e = &course.enrolment;
  const std::string sheet = "workshop,enrolment,day,status\n" + w->ToString() + "," +
                            e->ToString() + ",1,present\n" + w->ToString() + "," +
                            e->ToString() + ",2,present\n";
  ImportSkipped skipped;
  auto first = ImportCsv(*store, "attendance", sheet, &skipped);
  REQUIRE(first.ok());
  REQUIRE(first->size() == 2);
  CHECK(skipped.changed == 0);
  const auto outbox = [&] { return OutboxEntries(*store); };
  const int64_t sent = outbox();

  // The same sheet again: nothing written, nothing to send.
  auto same = ImportCsv(*store, "attendance", sheet, &skipped);
  REQUIRE(same.ok());
  CHECK(same->empty());
  CHECK(skipped.unchanged == 2);
  CHECK(skipped.changed == 0);
  CHECK(outbox() == sent);

  // A colleague excused day 2 with a note (as a pull writes it, here as an
  // edit); the old sheet again says present. The file's status is written
  // (said as a change), the note it has no column for is kept.
  REQUIRE(store->Edit("attendance", (*first)[1],
                      {{"status", Value::Text("excused")},
                       {"note", Value::Text("ลาป่วย มีใบรับรองแพทย์")}})
              .ok());
  auto again = ImportCsv(*store, "attendance", sheet, &skipped);
  REQUIRE(again.ok());
  CHECK(*again == std::vector<Uuid>{(*first)[1]});
  CHECK(skipped.unchanged == 1);
  CHECK(skipped.changed == 1);
  auto day2 = store->Show("attendance", (*first)[1]);
  CHECK(Text(*day2, "status") == "present");
  CHECK(Text(*day2, "note") == "ลาป่วย มีใบรับรองแพทย์");
  // A note column with the cell left empty keeps it too; a note given
  // replaces it.
  const std::string with_note = "workshop,enrolment,day,status,note\n" + w->ToString() +
                                "," + e->ToString() + ",2,present,\n";
  REQUIRE(ImportCsv(*store, "attendance", with_note).ok());
  CHECK(Text(*store->Show("attendance", (*first)[1]), "note") == "ลาป่วย มีใบรับรองแพทย์");
  const std::string new_note = "workshop,enrolment,day,status,note\n" + w->ToString() +
                               "," + e->ToString() + ",2,present,มาครบ\n";
  REQUIRE(ImportCsv(*store, "attendance", new_note).ok());
  CHECK(Text(*store->Show("attendance", (*first)[1]), "note") == "มาครบ");
}

TEST_CASE("ImportCsv: one mark on two lines of a sheet names what the two disagree on, "
          "not a cell one leaves empty",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const Course course = RecordCourse(*store);
  const std::string mark = course.workshop.ToString() + "," + course.enrolment.ToString() + ",1,";
  const std::string sheet = "workshop,enrolment,day,status,note\n" + mark + "absent,ไม่มา\n" +
                            mark + "present,\n";
  auto r = ImportCsv(*store, "attendance", sheet);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  const std::string& m = r.status().message();
  INFO(m);
  CHECK_THAT(m, Catch::Contains("status 'absent' there and 'present' here"));
  CHECK_THAT(m, !Catch::Contains("note"));
  CHECK(LiveRows(*store, "attendance") == 0);
  // Notes alone differ: named.
  const std::string notes = "workshop,enrolment,day,status,note\n" + mark + "absent,ไม่มา\n" +
                            mark + "absent,ป่วย\n";
  auto n = ImportCsv(*store, "attendance", notes);
  REQUIRE_FALSE(n.ok());
  CHECK_THAT(n.status().message(), Catch::Contains("note 'ไม่มา' there and 'ป่วย' here"));
}

TEST_CASE("ImportCsv: a roll-call sheet names the participant within the row's workshop "
          "(one person in two workshops), title and spacing aside",
          "[csv_import][csv_thai]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const Course course = RecordCourse(*store);  // นางสมศรี in อบรม KBO
  auto second = store->Record("workshop", {{"title", Value::Text("อบรม KBO รุ่นที่ 2")},
                                           {"fiscal_year", Value::Integer(2567)},
                                           {"district_code", Value::Text("5011")},
                                           {"start_date", Value::Text("2024-06-03")}});
  REQUIRE(second.ok());
  auto again = store->Record("enrolment", {{"workshop_id", Value::Text(second->ToString())},
                                           {"producer_id", Value::Text(course.producer.ToString())},
                                           {"participant_name", Value::Text("นางสมศรี")}});
  REQUIRE(again.ok());
  auto boonmee = store->Record("enrolment", {{"workshop_id", Value::Text(second->ToString())},
                                             {"producer_id", Value::Text(course.producer.ToString())},
                                             {"participant_name", Value::Text("นายบุญมี แก้วมา")}});
  REQUIRE(boonmee.ok());
  const std::string sheet =
      "workshop,enrolment,day,status\n"
      "อบรม KBO รุ่นที่ 2,นางสมศรี,1,present\n"
      "อบรม KBO,นางสมศรี,1,late\n"
      "อบรม KBO รุ่นที่ 2,บุญมี  แก้วมา,1,absent\n";
  auto imported = ImportCsv(*store, "attendance", sheet);
  INFO(imported.status().ToString());
  REQUIRE(imported.ok());
  REQUIRE(imported->size() == 3);
  const auto enrolment_of = [&](const Uuid& mark) {
    return Text(*store->Show("attendance", mark), "enrolment_id");
  };
  CHECK(enrolment_of((*imported)[0]) == again->ToString());
  CHECK(enrolment_of((*imported)[1]) == course.enrolment.ToString());
  CHECK(enrolment_of((*imported)[2]) == boonmee->ToString());
  // A name no one in that workshop has: not found, naming the workshop's
  // participants as where it looked, nothing written.
  const std::string stranger = "workshop,enrolment,day,status\nอบรม KBO,นายบุญมี แก้วมา,2,present\n";
  auto refused = ImportCsv(*store, "attendance", stranger);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kNotFound);
  CHECK_THAT(refused.status().message(), Catch::Contains("line 2"));
  CHECK_THAT(refused.status().message(), Catch::Contains("enrolled in that workshop"));
  CHECK(LiveRows(*store, "attendance") == 3);
}

TEST_CASE("ImportCsv: an export's enrolments with their ids import whole, two near-"
          "duplicates enrolled offline on two devices included",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const Course course = RecordCourse(*store);  // นางสมศรี, held here
  const Uuid a = Uuid::Random(), b = Uuid::Random();
  const std::string file =
      "id,workshop_id,producer_id,participant_name\n" + a.ToString() + "," +
      course.workshop.ToString() + "," + course.producer.ToString() + ",นางสาวมะลิ ดอกไม้\n" +
      b.ToString() + "," + course.workshop.ToString() + "," + course.producer.ToString() +
      ",มะลิ ดอกไม้\n";
  ImportSkipped skipped;
  auto imported = ImportCsv(*store, "enrolment", file, &skipped);
  INFO(imported.status().ToString());
  REQUIRE(imported.ok());
  CHECK(*imported == std::vector<Uuid>{a, b});
  CHECK(skipped.already_enrolled == 0);
  CHECK(skipped.near_duplicates == 1);  // the second line, said
  CHECK(LiveRows(*store, "enrolment") == 3);
  // Without ids (a sheet typed by a person), the second is still refused.
  const std::string typed = "workshop_id,producer_id,participant_name\n" +
                            course.workshop.ToString() + "," + course.producer.ToString() +
                            ",สมชาย ใจดี\n" + course.workshop.ToString() + "," +
                            course.producer.ToString() + ",นายสมชาย  ใจดี\n";
  CHECK_FALSE(ImportCsv(*store, "enrolment", typed).ok());
  CHECK(LiveRows(*store, "enrolment") == 3);
}

TEST_CASE("ImportCsv: one mark twice in a sheet is refused when the two lines differ "
          "and taken once when they are the same",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  const Course course = RecordCourse(*store);
  const std::string w = course.workshop.ToString();
  const std::string e = course.enrolment.ToString();
  const auto outbox = [&] { return OutboxEntries(*store); };
  const int64_t before = outbox();
  // Lines 2 and 4 say day 1 differently: which is right is the person's to
  // say, so nothing is written and both lines are named.
  const std::string differ = "workshop,enrolment,day,status\n" + w + "," + e +
                             ",1,present\n" + w + "," + e + ",2,present\n" + w +
                             "," + e + ",1,absent\n";
  auto refused = ImportCsv(*store, "attendance", differ);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK_THAT(refused.status().message(),
             Catch::StartsWith("line 4: this attendance is on line 2 too"));
  CHECK_THAT(refused.status().message(), Catch::Contains("'absent'"));
  CHECK_THAT(refused.status().message(), Catch::Contains("'present'"));
  CHECK(outbox() == before);
  CHECK(store->List("attendance")->empty());
  // The same line twice (a row copied down by mistake) is one mark.
  const std::string same = "workshop,enrolment,day,status\n" + w + "," + e +
                           ",1,present\n" + w + "," + e + ",1,present\n";
  ImportSkipped skipped;
  auto taken = ImportCsv(*store, "attendance", same, &skipped);
  INFO(taken.status().ToString());
  REQUIRE(taken.ok());
  CHECK(taken->size() == 1);
  CHECK(skipped.repeated == 1);
  CHECK(store->List("attendance")->size() == 1);
}

TEST_CASE("ImportCsv: a header alone imports nothing, unknown entity refused",
          "[csv_import]") {
  TempDir dir;
  auto store = OpenStore(dir);
  auto none = ImportCsv(*store, "producer", "kind,name,district\r\n");
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto bad = ImportCsv(*store, "gadget", "a,b\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace kbo::client

// Loads the users' SCRAM credentials and the ACLs into a local broker through Kafka's own
// Admin API (kafka-clients, among the broker's libraries). scripts/dev runs it after each
// start of a broker, as the super user, as a single-file program:
//
//   java -cp '<kafka libs>/*' scripts/kafka/KafkaSecurity.java <admin client properties>
//
// Standard input, one instruction a line (nothing else is read, so no secret is on a
// command line):
//
//   scram USER PASSWORD                                   a SCRAM-SHA-512 credential (made or replaced)
//   acl User:USER TOPIC|GROUP LITERAL|PREFIXED NAME OP    an ACL allowing OP from any host
//
// The acl lines are `ordertrack-admin kafka-acls`'s output (crates/tools/admin/kafka-acls.txt).
// What it did goes to standard error, with any failure; standard output is the admin
// client's own log (scripts/dev keeps it in .state/logs/kafka-security.log).
// Both are idempotent: an existing ACL is kept, a credential is replaced (this is how a
// password is rotated: docs/security.md). ACLs the table no longer has are removed.
import java.io.BufferedReader;
import java.io.FileReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class KafkaSecurity {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: KafkaSecurity <admin client properties> < instructions");
            System.exit(2);
        }
        Properties properties = new Properties();
        try (FileReader reader = new FileReader(args[0], StandardCharsets.UTF_8)) {
            properties.load(reader);
        }
        List<UserScramCredentialAlteration> credentials = new ArrayList<>();
        Set<AclBinding> acls = new HashSet<>();
        BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int number = 0;
        for (String line; (line = input.readLine()) != null; ) {
            number++;
            String[] words = line.trim().split("\\s+");
            if (words.length == 3 && words[0].equals("scram")) {
                credentials.add(new UserScramCredentialUpsertion(
                        words[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), words[2]));
            } else if (words.length == 6 && words[0].equals("acl")) {
                ResourcePattern resource = new ResourcePattern(
                        ResourceType.valueOf(words[2]), words[4], PatternType.valueOf(words[3]));
                AccessControlEntry entry = new AccessControlEntry(
                        words[1], "*", AclOperation.valueOf(words[5]), AclPermissionType.ALLOW);
                acls.add(new AclBinding(resource, entry));
            } else if (!line.isBlank()) {
                // The line may hold a password: only its number is shown.
                System.err.println("KafkaSecurity: line " + number + " of the input is not an instruction");
                System.exit(2);
            }
        }
        try (Admin admin = Admin.create(properties)) {
            if (!credentials.isEmpty()) {
                admin.alterUserScramCredentials(credentials).all().get();
                System.err.println("    kafka: " + credentials.size() + " SCRAM-SHA-512 credentials set");
            }
            Set<AclBinding> existing = new HashSet<>(admin.describeAcls(AclBindingFilter.ANY).values().get());
            List<AclBindingFilter> stale = new ArrayList<>();
            for (AclBinding binding : existing) {
                if (!acls.contains(binding)) {
                    stale.add(binding.toFilter());
                }
            }
            if (!stale.isEmpty()) {
                admin.deleteAcls(stale).all().get();
            }
            List<AclBinding> missing = new ArrayList<>();
            for (AclBinding binding : acls) {
                if (!existing.contains(binding)) {
                    missing.add(binding);
                }
            }
            if (!missing.isEmpty()) {
                admin.createAcls(missing).all().get();
            }
            System.err.println("    kafka: " + acls.size() + " ACLs (" + missing.size() + " added, " + stale.size() + " removed)");
        }
    }
}

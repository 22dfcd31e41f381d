# Key rings and keys cannot be deleted in Cloud KMS: `terraform destroy` only destroys the key versions, and
# the names stay taken in the project.
resource "google_kms_key_ring" "this" {
  name     = var.key_ring
  project  = var.project_id
  location = var.region
}

resource "google_kms_crypto_key" "this" {
  # checkov:skip=CKV_GCP_82: Cloud KMS keys cannot be deleted (destroy only destroys versions); prevent_destroy would also block tearing down dev/staging and cannot follow var.deletion_protection
  for_each = var.keys

  name            = each.key
  key_ring        = google_kms_key_ring.this.id
  rotation_period = var.rotation_period
  purpose         = "ENCRYPT_DECRYPT"

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.protection_level
  }

  labels = var.labels
}

# Each Google service agent may use only the key of its own data.
resource "google_kms_crypto_key_iam_member" "encrypters" {
  for_each = merge([
    for key, cfg in var.keys : {
      for member in cfg.encrypters : "${key}/${member}" => { key = key, member = member }
    }
  ]...)

  crypto_key_id = google_kms_crypto_key.this[each.value.key].id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value.member
}
